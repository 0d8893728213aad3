#!/usr/bin/env bash
# Full-size SD v1.4 UNet on the GPU machine: rebuild the weights, make forge's and the peer's models,
# then time them with `forge bench` in one run and check numerics with `forge validate --device cuda`.
# Run from the repository root on the device machine, with forge staged on PATH
# (docs/gpu-machine.md: stage-ort-gpu.sh, then `source $HOME/forge-stage/env.sh`).
#   tools/device/measure-full.sh prepare   # rebuild weights, forge optimize (portable, ort-cuda), ORT peer
#   tools/device/measure-full.sh bench     # forge bench: ort-cuda against raw, portable and the peer
#   tools/device/measure-full.sh validate  # 50-step LMS loop, ort-cuda output against the fp32 export
# Everything lands under $W (default $HOME/full); tables and reports are copied to $OUT when set.
set -euo pipefail
W=${W:-$HOME/full}
FULL=${FULL:-tools/full}
OUTDIR=${OUT:-$W/out}
mkdir -p "$W" "$OUTDIR"
PY=${PYTHON:-python3}
step=${1:?usage: measure-full.sh prepare|bench|validate}

t() { local s=$(date +%s%N); "$@"; echo "  ($(( ($(date +%s%N) - s) / 1000000 )) ms: $*)" >&2; }

case "$step" in
prepare)
  [ -f "$W/raw16/sd14_unet_fp16.weights" ] || t $PY tools/device/rebuild_full.py "$FULL/sd14_unet_fp16.onnx" "$FULL/sd14_unet_fp16.stats.json" "$W/raw16" &
  [ -f "$W/raw32/sd14_unet_fp32.weights" ] || t $PY tools/device/rebuild_full.py "$FULL/sd14_unet_fp32.onnx" "$FULL/sd14_unet_fp32.stats.json" "$W/raw32" &
  [ -f "$W/aten16/sd14_unet_fp16_aten.weights" ] || t $PY tools/device/rebuild_full.py "$FULL/sd14_unet_fp16_aten.onnx" "$FULL/sd14_unet_fp16_aten.stats.json" "$W/aten16" &
  wait
  mkdir -p "$W/forge"
  t forge optimize "$W/raw16/sd14_unet_fp16.onnx" -o "$W/forge/portable16.onnx" --report "$OUTDIR/portable16.json"
  t forge optimize "$W/raw16/sd14_unet_fp16.onnx" --target ort-cuda -o "$W/forge/ortcuda16.onnx" --report "$OUTDIR/ortcuda16.json"
  t forge optimize "$W/aten16/sd14_unet_fp16_aten.onnx" --target ort-cuda -o "$W/forge/ortcuda-aten16.onnx" --report "$OUTDIR/ortcuda-aten16.json"
  t forge optimize "$W/raw32/sd14_unet_fp32.onnx" --fp16 --target ort-cuda -o "$W/forge/ortcuda32.onnx" --report "$OUTDIR/ortcuda32.json"
  mkdir -p "$W/peer"
  [ -f "$W/peer/ort32.onnx" ] || t $PY tools/device/ort_peer.py "$W/raw32/sd14_unet_fp32.onnx" "$W/peer/ort32.onnx"
  ;;
bench)
  common=(--device cuda --warmup "${WARMUP:-60}" --iterations "${ITER:-300}")
  # the candidate against each peer, one pair per run, without and with a CUDA graph
  forge bench "$W/forge/ortcuda-aten16.onnx" --baseline "$W/raw16/sd14_unet_fp16.onnx" "${common[@]}" --report "$OUTDIR/bench-raw.md"
  forge bench "$W/forge/ortcuda-aten16.onnx" --baseline "$W/forge/portable16.onnx" "${common[@]}" --report "$OUTDIR/bench-portable.md"
  forge bench "$W/forge/ortcuda32.onnx" --baseline "$W/peer/ort32.onnx" "${common[@]}" --report "$OUTDIR/bench-peer.md"
  forge bench "$W/forge/ortcuda32.onnx" --baseline "$W/forge/ortcuda-aten16.onnx" "${common[@]}" --cuda-graph --report "$OUTDIR/bench-graph-forge.md"
  forge bench "$W/forge/ortcuda32.onnx" --baseline "$W/peer/ort32.onnx" "${common[@]}" --cuda-graph --report "$OUTDIR/bench-graph-peer.md"
  ;;
validate)
  forge validate --reference "$W/raw32/sd14_unet_fp32.onnx" --candidate "$W/forge/ortcuda32.onnx" --device cuda \
    --scheduler lms --steps 50 --tolerance 1e-2 --latent-tolerance 1e-2 --report "$OUTDIR/validate.md"
  ;;
*) echo "unknown step $step" >&2; exit 2 ;;
esac
