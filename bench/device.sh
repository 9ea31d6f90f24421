#!/usr/bin/env bash
# One call on a lent GPU machine (bare: no Node, no Vulkan loader, no network), one results file
# in $OUT. Each step runs in its own process under a timeout (the limits of the full run add up
# to 480 s), so one failing step keeps the others' lines.
#
# HOW TO RUN IT (a session whose task is lent a GPU; 15 minutes of device time in all):
#   1. In the checkout the device call sends (the lead's: /work/main), with node_modules:
#        PEERS=/work/peers bash bench/device-pack.sh      # builds .devcarry/ (~38 MB), prints sizes
#        bash bench/device-slim.sh on .devcarry           # fixtures out of the index; prints the
#                                                         # bytes that travel, fails at >= 64 MiB
#        bash bench/device.sh --small                     # optional: the rehearsal, here (minutes)
#   2. One call:  run(command="bash bench/device.sh", carry=[".devcarry"], timeout_s=540)
#      then give_back, unless rerunning at once. Results: $OUT/device-results.md (+ stderr.txt).
#   3. Right after the call:  bash bench/device-slim.sh off   (git status is as before `on`;
#      do not commit between on and off).
#   Should one call not fit (a step needing more time): --part=engine (steps 1-2, 250 s of
#   limits) and --part=peers (steps 3-5, 230 s) run the halves, each in a call of its own.
#
# What runs:
#   1. adapter info, features, limits, chosen kernel variants; copy bandwidth; the per-kernel
#      table at ERNIE-4.5-21B-A3B shapes, every variant the adapter runs
#   2. decode/prefill at full 21B-A3B geometry (28 layers), random weights made in-process: q4
#      experts all resident; q2 resident; q4 with 25% of the experts on the GPU (streamed)
#   3. the GGUF writer (bench/make_gguf.ts, on worker threads): ERNIE-4.5-21B-A3B geometry,
#      28 layers, random Q4_0 weights (~12 GB, in /tmp)
#   4. llama.cpp's Vulkan build (node-llama-cpp prebuilt, .devcarry/llama-modules.tar.xz) on that
#      GGUF: prefill 128 and 512 tokens, each followed by 32 greedy tokens
#   5. our engine (Node + Dawn) on the same GGUF, the same prompts; the table of the ratios
#   bash bench/device.sh --small   the same steps at the mini geometry (2 layers) and a small
#                                  GGUF (a rehearsal on SwiftShader: minutes)
set -uo pipefail
# the whole script is one function, parsed before it runs: editing the file mid-run changes nothing
main() {
cd "$(dirname "$0")/.."
ROOT=$(pwd)
D="$ROOT/.devcarry"
SMALL=0; PART=all
for a in "$@"; do
  case "$a" in
    --small) SMALL=1 ;;
    --part=engine|--part=peers|--part=all) PART=${a#--part=} ;;
    *) echo "device.sh: unknown argument $a (--small, --part=engine|peers|all)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-/tmp/ernie-device-out}
mkdir -p "$OUT"
RES="$OUT/device-results.md"
: > "$RES"
log() { echo "$*" | tee -a "$RES"; }
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
# xz may be missing on the machine: Python's lzma then
unxz_to() { # unxz_to <file.xz> <out>
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

[ -f "$D/node.xz" ] || { log "device.sh: $D/node.xz missing: run bash bench/device-pack.sh here and carry .devcarry"; exit 1; }
T=$(mktemp -d /tmp/ernie-device.XXXXXX)
mkdir -p "$T/bin" "$T/node_modules/webgpu/dist/linux-x64"
unxz_to "$D/node.xz" "$T/bin/node" && chmod +x "$T/bin/node"
cp "$D/node_modules/webgpu/index.js" "$D/node_modules/webgpu/package.json" "$T/node_modules/webgpu/"
unxz_to "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz" "$T/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$D"/*.mjs "$T/"   # beside node_modules/, so `import('webgpu')` resolves there
export PATH="$T/bin:$PATH" HOME="${HOME:-$T}"
export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the NVIDIA driver's Vulkan ICD (a read-only mount on the lent machines), unless one is set
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && { export VK_DRIVER_FILES="$icd"; break; }
  done
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json

log "# bench/device.sh $*, $(date -u +%Y-%m-%dT%H:%MZ)"
log "machine: $(uname -srm); $(nproc) cores; node $(node --version); commit $(cat "$D/commit.txt" 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null && log "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"

run_step() { # run_step <seconds> <title> <command...>
  local secs=$1 title=$2; shift 2
  log ""
  log "### $title (at $(elapsed) s; limit ${secs} s)"
  timeout --kill-after=5 "$secs" "$@" 2> >(tail -n 40 >> "$OUT/stderr.txt") | tee -a "$RES"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || log "(step ended with status $rc$( [ "$rc" = 124 ] && echo ': timed out'))"
  return "$rc"
}
step() { run_step "$1" "$2" node "$T/bench.mjs" "${@:3}"; }

if [ "$PART" != peers ]; then
if [ $SMALL = 1 ]; then
  # limits sized for SwiftShader on a busy 2-core machine
  step 240 "kernels (mini shapes)" --small --skip-model
  step 240 "model: q4 and q2 experts, all resident" --small --model-only --runs q4@100%,q2@100% --contexts 128,512 --tokens 2
  step 180 "model: q4 experts, 50% on the GPU (streamed)" --small --model-only --runs q4@50% --contexts 128 --tokens 2
else
  step 65 "kernels (21B-A3B shapes)" --skip-model --reps 10 --prefill-tokens 256
  step 85 "model: 21B-A3B, 28 layers, q4 experts all resident" --model-only --layers 28 --runs q4@100% --contexts 128,4096,32768 --tokens 16 --prompt-tokens 512
  step 55 "model: 21B-A3B, 28 layers, q2 experts all resident" --model-only --layers 28 --runs q2@100% --contexts 128,4096 --tokens 16 --prompt-tokens 512
  step 45 "model: 21B-A3B, 28 layers, q4 experts, 25% on the GPU (streamed)" --model-only --layers 28 --runs q4@25% --contexts 128 --tokens 8 --prompt-tokens 64
fi
fi

if [ "$PART" != engine ]; then
  G="$T/model.gguf"
  workers=$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))
  if [ $SMALL = 1 ]; then
    what="the writer's small geometry (hidden 256, 3 layers, 8 experts), Q4_0"; gen=(--geometry small); prompts=16,64; tokens=8; lim=(60 240 240)
  else
    what="ERNIE-4.5-21B-A3B geometry, 28 layers, Q4_0"; gen=(--layers 28); prompts=128,512; tokens=32; lim=(70 80 80)
  fi
  # the tokenizer the writer gives the file: the one fixture bench/device-slim.sh keeps
  if run_step "${lim[0]}" "GGUF writer: $what, $workers worker threads" node "$T/make-gguf.mjs" "$G" "${gen[@]}" --type q4_0 --workers "$workers" --tokenizer "$ROOT/test/fixtures/gguf/ernie45-moe-tiny-q4_0.gguf"; then
    if [ -f "$D/llama-modules.tar.xz" ]; then
      mkdir -p "$T/llama"
      unxz_to "$D/llama-modules.tar.xz" "$T/llama/m.tar" && tar -xf "$T/llama/m.tar" -C "$T/llama" && rm -f "$T/llama/m.tar"
      run_step "${lim[1]}" "llama.cpp, Vulkan build (node-llama-cpp), on that GGUF: prompts $prompts, $tokens greedy tokens each" \
        node "$T/peers.mjs" --engine llama --gguf "$G" --prompts "$prompts" --tokens "$tokens" --llama-modules "$T/llama/node_modules" --json "$T/llama.json"
    else
      log ""; log "### llama.cpp: skipped (no .devcarry/llama-modules.tar.xz: device-pack.sh found no node-llama-cpp Vulkan prebuilt)"
    fi
    run_step "${lim[2]}" "ernie-webgpu (Node + Dawn) on that GGUF: prompts $prompts, $tokens greedy tokens each" \
      node "$T/peers.mjs" --engine ours --gguf "$G" --prompts "$prompts" --tokens "$tokens" --json "$T/ours.json" --compare "$T/llama.json"
  fi
fi
log ""
log "total: $(elapsed) s"
rm -rf "$T"
}
main "$@"
