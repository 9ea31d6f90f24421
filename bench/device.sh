#!/usr/bin/env bash
# One call on a lent GPU machine (bare: no Node, no Vulkan loader, no network), at most 8
# minutes (the steps' limits add up to 480 s), one results file in $OUT. Needs .devcarry/ from bench/device-pack.sh (carry it).
#   bash bench/device.sh           the full run:
#     1. adapter info, features, limits, chosen kernel variants; copy bandwidth; the per-kernel
#        table at ERNIE-4.5-21B-A3B shapes, every variant the adapter runs
#     2. decode/prefill at full 21B-A3B geometry (28 layers), random weights: q4 experts all
#        resident; q2 resident; q4 with 25% of the experts on the GPU (streamed)
#     3. llama.cpp's Vulkan build on the same geometry's GGUF, when carried (.devcarry/llama/
#        llama-bench) and the project has the GGUF writer (src/formats/gguf_writer.ts): else skipped
#   bash bench/device.sh --small   the same steps at the mini geometry, 2 layers (a rehearsal on
#                                  SwiftShader: minutes)
#   bash bench/device.sh --vision  only the VL vision tower (bench/vision.ts, the 28B-A3B's tower,
#                                  32 blocks + resampler, random weights) at 448x448 and 1344x1344
# Each step runs in its own process under a timeout, so one failing step keeps the others' lines.
set -uo pipefail
# the whole script is one function, parsed before it runs: editing the file mid-run changes nothing
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)
D="$ROOT/.devcarry"
SMALL=0; [ "${1:-}" = --small ] && SMALL=1
OUT=${OUT:-/tmp/ernie-device-out}
mkdir -p "$OUT"
RES="$OUT/device-results.md"
: > "$RES"
log() { echo "$*" | tee -a "$RES"; }
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }

[ -f "$D/node.xz" ] || { log "device.sh: $D/node.xz missing: run bash bench/device-pack.sh here and carry .devcarry"; exit 1; }
T=$(mktemp -d /tmp/ernie-device.XXXXXX)
mkdir -p "$T/bin" "$T/node_modules/webgpu/dist/linux-x64"
xz -dc "$D/node.xz" > "$T/bin/node" && chmod +x "$T/bin/node"
cp "$D/node_modules/webgpu/index.js" "$D/node_modules/webgpu/package.json" "$T/node_modules/webgpu/"
xz -dc "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$T/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$D/bench.mjs" "$T/bench.mjs"   # beside node_modules/, so `import('webgpu')` resolves there
export PATH="$T/bin:$PATH"
export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the NVIDIA driver's Vulkan ICD (a read-only mount on the lent machines), unless one is set
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && { export VK_DRIVER_FILES="$icd"; break; }
  done
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json

log "# bench/device.sh $( [ $SMALL = 1 ] && echo --small ), $(date -u +%Y-%m-%dT%H:%MZ)"
log "machine: $(uname -srm); $(nproc) cores; node $(node --version); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null && log "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"

step() { # step <seconds> <title> <bench args...>
  local secs=$1 title=$2; shift 2
  log ""
  log "### $title (at $(elapsed) s; limit ${secs} s)"
  timeout --kill-after=5 "$secs" node "$T/bench.mjs" "$@" 2> >(tail -n 40 >> "$OUT/stderr.txt") | tee -a "$RES"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || log "(step ended with status $rc$( [ "$rc" = 124 ] && echo ': timed out'))"
}

# ---- vision tower: `bash bench/device.sh --vision` (bench/vision.ts bundled as .devcarry/bench-vision.mjs) ----
if [ "${1:-}" = --vision ]; then
  if [ ! -f "$D/bench-vision.mjs" ]; then
    log "skipped: .devcarry/bench-vision.mjs missing (run bash bench/device-pack.sh here)"
  else
    cp "$D/bench-vision.mjs" "$T/bench-vision.mjs"
    vstep() { # vstep <seconds> <title> <bench:vision args...>
      local secs=$1 title=$2; shift 2
      log ""
      log "### $title (at $(elapsed) s; limit ${secs} s)"
      timeout --kill-after=5 "$secs" node "$T/bench-vision.mjs" "$@" 2> >(tail -n 40 >> "$OUT/stderr.txt") | tee -a "$RES"
      local rc=${PIPESTATUS[0]}
      [ "$rc" = 0 ] || log "(step ended with status $rc$( [ "$rc" = 124 ] && echo ': timed out'))"
    }
    vstep 150 "vision tower 448x448, 32 blocks + resampler, f16 matrices" --size 448 --depth 32 --dtype f16
    vstep 150 "vision tower 1344x1344, 32 blocks + resampler, f16 matrices" --size 1344 --depth 32 --dtype f16
    vstep 150 "vision tower 1344x1344, 32 blocks + resampler, f32 matrices" --size 1344 --depth 32 --dtype f32
  fi
  log ""
  log "total: $(elapsed) s"
  rm -rf "$T"
  return
fi
# ---- end vision tower ----

if [ $SMALL = 1 ]; then
  # limits sized for SwiftShader on a busy 2-core machine
  step 240 "kernels (mini shapes)" --small --skip-model
  step 240 "model: q4 and q2 experts, all resident" --small --model-only --runs q4@100%,q2@100% --contexts 128,512 --tokens 2
  step 180 "model: q4 experts, 50% on the GPU (streamed)" --small --model-only --runs q4@50% --contexts 128 --tokens 2
else
  step 80 "kernels (21B-A3B shapes)" --skip-model --reps 10 --prefill-tokens 256
  step 100 "model: 21B-A3B, 28 layers, q4 experts all resident" --model-only --layers 28 --runs q4@100% --contexts 128,4096,32768 --tokens 16 --prompt-tokens 512
  step 80 "model: 21B-A3B, 28 layers, q2 experts all resident" --model-only --layers 28 --runs q2@100% --contexts 128,4096 --tokens 16 --prompt-tokens 512
  step 70 "model: 21B-A3B, 28 layers, q4 experts, 25% on the GPU (streamed)" --model-only --layers 28 --runs q4@25% --contexts 128 --tokens 8 --prompt-tokens 64
fi

log ""
log "### llama.cpp (Vulkan) on the same geometry (at $(elapsed) s)"
if [ ! -x "$D/llama/llama-bench" ]; then
  log "skipped: no llama.cpp Vulkan build carried (.devcarry/llama/llama-bench and its .so files)"
elif [ ! -f "$ROOT/src/formats/gguf_writer.ts" ]; then
  log "skipped: the project has no GGUF writer yet (src/formats/gguf_writer.ts), so there is no GGUF of this geometry to run"
elif [ ! -f "$D/bench-gguf.mjs" ]; then
  log "skipped: .devcarry/bench-gguf.mjs (the GGUF writer, bundled) was not carried"
else
  G="$T/model.gguf"
  layers=$( [ $SMALL = 1 ] && echo 2 || echo 28 ); geometry=$( [ $SMALL = 1 ] && echo mini || echo 21b )
  timeout 60 node "$D/bench-gguf.mjs" --geometry "$geometry" --layers "$layers" --type Q4_K --out "$G" 2>&1 | tail -3 | tee -a "$RES"
  LD_LIBRARY_PATH="$D/llama:$LD_LIBRARY_PATH" timeout 90 "$D/llama/llama-bench" -m "$G" -ngl 99 -p 512 -n 128 -o md 2>&1 | tee -a "$RES"
fi
log ""
log "total: $(elapsed) s"
rm -rf "$T"
}
main "$@"
