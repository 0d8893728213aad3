#!/usr/bin/env python3
"""The peer forge is measured against on the GPU machine: ONNX Runtime's own transformers optimizer.

Usage: ort_peer.py SRC.onnx DST.onnx
Runs `optimize_model(model_type="unet", use_gpu=True)` (its GroupNorm, SkipGroupNorm, BiasSplitGelu,
BiasAdd, NhwcConv and SkipLayerNormalization fusions) and its fp16 conversion, exactly as a user of
that tool would (the recipe of docs/gpu-machine.md): Constant nodes are lifted to initializers first so
Resize's scales stay float32.
"""
import sys

import onnx
from onnxruntime.transformers.optimizer import optimize_model


def lift_constants(model: onnx.ModelProto) -> None:
    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    lift_constants(model)
    optimized = optimize_model(model, model_type="unet", opt_level=0, use_gpu=True)
    optimized.convert_float_to_float16(keep_io_types=False, op_block_list=["RandomNormalLike", "Resize"])
    optimized.save_model_to_file(dst, use_external_data_format=True)
    census = {}
    for node in optimized.model.graph.node:
        census[node.op_type] = census.get(node.op_type, 0) + 1
    print(f"{dst}: {len(optimized.model.graph.node)} nodes; " + ", ".join(f"{k} {v}" for k, v in sorted(census.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
