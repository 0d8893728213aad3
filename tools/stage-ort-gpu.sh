#!/usr/bin/env bash
# Packs a self-contained forge build plus ONNX Runtime's CUDA provider into chunks that fit the GPU
# machine's 64 MiB-per-call transfer limit. Run from the project root after a NuGet restore:
#   tools/stage-ort-gpu.sh PUBLISH_DIR
# where PUBLISH_DIR is the output of
#   dotnet publish src/OnnxTrtForge.Cli -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -o PUBLISH_DIR
# It writes .stage/c1 .. .stage/cN (git-ignored) and prints the device calls to make, in order.
set -euo pipefail
pub=${1:?usage: stage-ort-gpu.sh PUBLISH_DIR}
ver=${ORT_GPU_VERSION:-1.31.0}
native=$HOME/.nuget/packages/microsoft.ml.onnxruntime.gpu.linux/$ver/runtimes/linux-x64/native
[ -f "$native/libonnxruntime_providers_cuda.so" ] || { echo "no $native/libonnxruntime_providers_cuda.so: restore Microsoft.ML.OnnxRuntime.Gpu.Linux $ver first" >&2; exit 2; }
cache=$HOME/.cache/ort-gpu-stage/$ver
mkdir -p "$cache"
if [ ! -f "$cache/cuda.xz" ]; then
  echo "compressing the CUDA provider once (about 4 minutes on 2 cores)..." >&2
  xz -9 -T2 -c "$native/libonnxruntime_providers_cuda.so" > "$cache/cuda.xz.tmp" && mv "$cache/cuda.xz.tmp" "$cache/cuda.xz"
fi
grep -qx '/.stage/' .git/info/exclude 2>/dev/null || echo '/.stage/' >> .git/info/exclude
rel=$(realpath --relative-to=. "$pub")
case "$rel" in ../*|/*) ;; *) grep -qx "/$rel/" .git/info/exclude || echo "/$rel/" >> .git/info/exclude ;; esac
rm -rf .stage && mkdir -p .stage/c1
cp "$native"/libonnxruntime.so "$native"/libonnxruntime_providers_shared.so "$pub"/ 2>/dev/null || true
tar -C "$pub" -cJf .stage/c1/publish.tar.xz .
# Every call also carries the work tree (tracked and untracked, not ignored): chunks get what is left.
tree=$( (git ls-files -z -co --exclude-standard | xargs -0 -r du -cb 2>/dev/null || true) | tail -1 | cut -f1)
chunk=$(( 62*1024*1024 - ${tree:-0} ))
[ $chunk -gt $((16*1024*1024)) ] || { echo "the work tree is $((tree/1048576)) MiB: too little room left for chunks (keep tracked files small)" >&2; exit 2; }
first=$(( chunk - $(stat -c %s .stage/c1/publish.tar.xz) ))
[ $first -gt 0 ] || { echo "the publish folder alone fills a call: trim it" >&2; exit 2; }
total=$(stat -c %s "$cache/cuda.xz")
off=0; i=1; size=$first
while [ $off -lt $total ]; do
  mkdir -p .stage/c$i
  dd if="$cache/cuda.xz" of=.stage/c$i/cuda.part$(printf %02d $i) iflag=skip_bytes,count_bytes skip=$off count=$size status=none
  off=$((off+size)); i=$((i+1)); size=$chunk
done
n=$((i-1))
cat > .stage/keep.sh <<'KEEP'
#!/usr/bin/env bash
# On the GPU machine: move the chunk carried by this call out of the work tree, into $HOME/forge-stage.
mkdir -p "$HOME/forge-stage" && for d in .stage/c*/; do cp -r "$d". "$HOME/forge-stage/"; done && ls "$HOME/forge-stage"
KEEP
cat > .stage/env.sh <<'ENV'
# On the GPU machine, after the last chunk: `source .stage/env.sh` assembles forge and sets the libraries.
S=$HOME/forge-stage
if [ ! -f "$S/bin/libonnxruntime_providers_cuda.so" ]; then
  mkdir -p "$S/bin" && tar -C "$S/bin" -xJf "$S/publish.tar.xz"
  cat "$S"/cuda.part* | xz -dc > "$S/bin/libonnxruntime_providers_cuda.so"
fi
NV=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null)
export LD_LIBRARY_PATH="$S/bin:$(find "$NV" -maxdepth 3 -name lib -type d 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}"
export PATH="$S/bin:$PATH"
ENV
for j in $(seq 1 $n); do cp .stage/keep.sh .stage/c$j/keep.sh; done
cp .stage/env.sh .stage/c$n/env.sh
du -sh .stage/c* >&2
echo "Make these device calls back to back (the machine stays warm only ~30 s between calls):"
for j in $(seq 1 $n); do
  if [ $j -lt $n ]; then echo "  call $j: carry [\".stage/c$j\"]   command: bash .stage/c$j/keep.sh"
  else echo "  call $j: carry [\".stage/c$j\", ...your data]   command: bash .stage/c$j/keep.sh && source .stage/c$j/env.sh && forge ..."; fi
done
