#!/usr/bin/env python3
"""Rebuild a full-size model's weights file on the GPU machine (which has numpy but no .NET).

The GPU-machine twin of `forge-bench rebuild-full` (tools/OnnxTrtForge.Benchmarks): for every external
tensor listed in GRAPH's `.stats.json` it writes seeded values of that tensor's statistics (uniform on
mean ± sqrt(3)·std, clipped to [min, max]) at the recorded offset of the weights file the graph names.
Usage: rebuild_full.py GRAPH.onnx STATS.json OUT_DIR [--seed N]
Writes OUT_DIR/<graph file name> and OUT_DIR/<weights file the stats name>, streaming tensor by tensor.
"""
import json
import os
import shutil
import sys

import numpy as np

DTYPES = {1: np.float32, 10: np.float16, 7: np.int64, 6: np.int32, 11: np.float64}


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--seed")]
    seed = int(next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--seed=")), "0"))
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    graph, stats_path, out_dir = args
    with open(stats_path) as f:
        stats = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(graph, os.path.join(out_dir, os.path.basename(graph)))
    weights_name = os.path.splitext(os.path.basename(stats_path))[0].removesuffix(".stats") + ".weights"
    weights_path = os.path.join(out_dir, weights_name)
    rng = np.random.default_rng(seed)
    with open(weights_path + ".tmp", "wb") as out:
        out.truncate(stats["weights_bytes"])
        for name, t in sorted(stats["tensors"].items(), key=lambda kv: kv[1]["offset"]):
            dtype = DTYPES[t["dtype"]]
            count = int(np.prod(t["dims"])) if t["dims"] else 1
            half = np.sqrt(3.0) * t["std"]
            values = rng.uniform(t["mean"] - half, t["mean"] + half, size=count) if half > 0 else np.full(count, t["mean"])
            data = np.clip(values, t["min"], t["max"]).astype(dtype).tobytes()
            if len(data) != t["length"]:
                print(f"{stats_path}: tensor {name}: {len(data)} bytes computed, {t['length']} recorded", file=sys.stderr)
                return 2
            out.seek(t["offset"])
            out.write(data)
    os.replace(weights_path + ".tmp", weights_path)
    print(f"{weights_path}: {stats['weights_bytes']} bytes, {len(stats['tensors'])} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
