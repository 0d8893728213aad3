#!/usr/bin/env bash
# forge-fuzz (issue 13 item 10) on the GPU machine, which has no .NET SDK: a trimmed self-contained linux-x64
# publish of the fuzzer (forge's optimize road runs inside it, so forge itself needs no second publish), with
# CPU ONNX Runtime only, packed into .stage-fuzz/ (git-ignored) and carried with the work tree.
#
# Here, once per commit (2-3 minutes):
#   tools/fuzz/run-device.sh stage
# Then ONE device call (run tool), from the repository root:
#   command:   tools/fuzz/run-device.sh run 10000 7
#   carry:     [".stage-fuzz"]
#   timeout_s: 600
# `run CASES SEED [MAX_SECONDS] [FIRST]` unpacks the publish under /tmp, runs CASES cases of SEED on every core
# (--jobs $(nproc)) over tests/fixtures, stops starting cases after MAX_SECONDS (default 450, so the command
# ends inside the 10-minute limit even with cases in flight; a second call with FIRST = the cases done goes
# on where it stopped) and writes $OUT/summary-seed<SEED>.txt (totals,
# findings, cases/s) and $OUT/log.txt. A finding is reproduced here with
#   dotnet run --project tools/OnnxTrtForge.Fuzz -c Release -- --seed SEED --case K
# which keeps the mutated model.onnx, a plain `forge optimize` input. Exit 1 when there are findings.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=.stage-fuzz
case "${1:-}" in
stage)
  grep -qx "/$stage/" .gitignore || { echo "/$stage/ must be git-ignored (see .gitignore)" >&2; exit 2; }
  pub=$(mktemp -d)
  trap 'rm -rf "$pub"' EXIT
  dotnet publish tools/OnnxTrtForge.Fuzz -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -o "$pub" -v quiet
  # CPU only: the CUDA (284 MB) and TensorRT providers, the debugger libraries and symbols stay behind
  rm -f "$pub"/libonnxruntime_providers_cuda.so "$pub"/libonnxruntime_providers_tensorrt.so "$pub"/libmscordaccore.so "$pub"/libmscordbi.so "$pub"/*.pdb
  rm -rf "$stage" && mkdir -p "$stage"
  tar -C "$pub" -cf - . | xz -6 -T2 > "$stage/forge-fuzz.tar.xz"
  tree=$(git ls-files -z | xargs -0 stat -c %s | awk '{s+=$1} END {print s}')
  packed=$(stat -c %s "$stage/forge-fuzz.tar.xz")
  echo "staged $stage/forge-fuzz.tar.xz: $((packed / 1048576)) MiB (publish $(du -sm "$pub" | cut -f1) MiB unpacked); with the tracked tree $(((packed + tree) / 1048576)) MiB of the 64 MiB a call carries"
  [ $((packed + tree)) -lt $((64 * 1048576)) ] || { echo "too large to carry" >&2; exit 2; }
  ;;
run)
  cases=${2:-10000} seed=${3:-7} max=${4:-450} first=${5:-0}
  [ -f "$stage/forge-fuzz.tar.xz" ] || { echo "no $stage/forge-fuzz.tar.xz: run 'tools/fuzz/run-device.sh stage' here and carry $stage" >&2; exit 2; }
  out=${OUT:-$PWD/fuzz-out}
  mkdir -p "$out"
  bin=$(mktemp -d /tmp/forge-fuzz-bin.XXXXXX)
  tar -C "$bin" -xJf "$stage/forge-fuzz.tar.xz"
  echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; forge-fuzz $cases cases, seed $seed, at most $max s"
  status=0
  "$bin/forge-fuzz" --fixtures tests/fixtures --cases "$cases" --first "$first" --seed "$seed" --jobs "$(nproc)" --max-seconds "$max" \
    --timeout-s 60 --ort-timeout-s 60 --work "$bin/work" --out "$out" > "$out/log.txt" 2>&1 || status=$?
  tail -n 60 "$out/log.txt"
  exit $status
  ;;
*)
  echo "usage: tools/fuzz/run-device.sh stage | run [CASES] [SEED] [MAX_SECONDS] [FIRST]" >&2
  exit 2
  ;;
esac
