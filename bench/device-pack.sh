#!/usr/bin/env bash
# Prepares .devcarry/ (git-ignored through the exclude file) for bench/device.sh on a bare GPU
# machine (no Node, no Vulkan loader, no network): this machine's Node binary and Dawn's addon,
# stripped of debug symbols and xz-compressed, with the two files of the `webgpu` package that
# load the addon; the Vulkan loader + GLVND libraries the NVIDIA Vulkan driver needs; the
# device programs bundled one module each (bench/bundle.mjs: bench.mjs, make-gguf.mjs,
# peers.mjs); and, when a peers folder holds node-llama-cpp with its Vulkan prebuilt
# (PEERS, default /work/peers: `npm i node-llama-cpp@3` there), llama-modules.tar.xz: its
# node_modules cut to what runs (no llama.cpp sources, no other platforms' binaries, of the
# Vulkan build only the addon, llama/ggml libraries and the haswell + x64 CPU backends).
# Run it here, on x86-64 Linux with the project's node_modules; name .devcarry in the call's
# carry. The compressed files are remade only when their source is newer (xz -9e takes minutes).
# Usage: [PEERS=/work/peers] bash bench/device-pack.sh
#        (ends by printing what the call would send: bench/device-slim.sh size .devcarry)
set -euo pipefail
cd "$(dirname "$0")/.."
D=.devcarry
PEERS=${PEERS:-/work/peers}
[ "$(uname -m)" = x86_64 ] || { echo "device-pack: the device machine is x86-64; build the carry on x86-64 (this is $(uname -m))" >&2; exit 1; }
mkdir -p "$D/lib" "$D/node_modules/webgpu/dist/linux-x64"
S=$(mktemp -d /tmp/ernie-device-pack.XXXXXX)
trap 'rm -rf "$S"' EXIT
# pack <source> <out.xz> [strip flags]: strip a copy (when strip is here), then xz it
pack() {
  local src=$1 out=$2; shift 2
  [ "$src" -nt "$out" ] || return 0
  local tmp="$S/$(basename "$out" .xz)"
  if command -v strip >/dev/null; then strip "$@" -o "$tmp" "$src"; else cp "$src" "$tmp"; fi
  xz -T1 -9e -c "$tmp" > "$out.partial" && mv "$out.partial" "$out"
  echo "packed $src -> $out ($(stat -c %s "$out") bytes)"
}
pack "$(readlink -f "$(command -v node)")" "$D/node.xz"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$D/node_modules/webgpu/"
pack node_modules/webgpu/dist/linux-x64/dawn.node "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz" --strip-unneeded
# the Vulkan loader, and GLVND (libGLX_nvidia / libEGL_nvidia, which the NVIDIA ICD loads, link it)
for l in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1 libGL.so.1 libOpenGL.so.0; do
  f=$(ldconfig -p | awk -v l="$l" '$1 == l && /x86-64/ { print $NF; exit }')
  [ -n "$f" ] || { echo "device-pack: $l not found here (apt-get install libvulkan1 libglvnd0 libgl1 libegl1 libopengl0)" >&2; exit 1; }
  cp -L "$f" "$D/lib/$l"
done
node bench/bundle.mjs "$D"
cp bench/device.sh "$D/device.sh"
# the commit the bundles were built from (the device machine gets no .git)
echo "$(git rev-parse --short HEAD)$( [ -z "$(git status --porcelain --untracked-files=no)" ] || echo ' + uncommitted changes')" > "$D/commit.txt"

# llama.cpp's Vulkan build through node-llama-cpp
NM="$PEERS/node_modules"
VK=@node-llama-cpp/linux-x64-vulkan
BINS="$NM/$VK/bins/linux-x64-vulkan"
if [ -f "$BINS/llama-addon.node" ] && [ -f "$NM/node-llama-cpp/package.json" ]; then
  if [ "$BINS/llama-addon.node" -nt "$D/llama-modules.tar.xz" ] || [ "$NM/node-llama-cpp/package.json" -nt "$D/llama-modules.tar.xz" ]; then
    mkdir -p "$S/l/node_modules/node-llama-cpp/llama" "$S/l/node_modules/$VK/bins/linux-x64-vulkan"
    (cd "$NM" && tar -c --exclude=./@node-llama-cpp --exclude=./@wllama --exclude=./node-llama-cpp/llama \
      --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.cts' --exclude='*.md' .) | tar -x -C "$S/l/node_modules"
    cp "$NM"/node-llama-cpp/llama/*.json "$S/l/node_modules/node-llama-cpp/llama/"
    cp -r "$NM/$VK/package.json" "$NM/$VK/dist" "$S/l/node_modules/$VK/"
    for f in _nlcBuildMetadata.json llama-addon.node libggml-base.so libggml-vulkan.so libggml.vulkan.v0.5.0.so \
      libllama.vulkan.v0.5.0.so libllama-common.so libggml-cpu-haswell.so libggml-cpu-x64.so; do
      cp "$BINS/$f" "$S/l/node_modules/$VK/bins/linux-x64-vulkan/"
    done
    tar -c -C "$S/l" node_modules | xz -T1 -9e > "$D/llama-modules.tar.xz.partial"
    mv "$D/llama-modules.tar.xz.partial" "$D/llama-modules.tar.xz"
    echo "packed node-llama-cpp $(node -p "require('$NM/node-llama-cpp/package.json').version") (Vulkan) -> $D/llama-modules.tar.xz ($(stat -c %s "$D/llama-modules.tar.xz") bytes)"
  fi
else
  rm -f "$D/llama-modules.tar.xz"
  echo "device-pack: no node-llama-cpp Vulkan prebuilt under $NM (PEERS=$PEERS): bench/device.sh will skip llama.cpp"
fi

exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devcarry/' "$exclude" 2>/dev/null || echo '/.devcarry/' >> "$exclude"
echo "carry $D: $(du -sb "$D" | cut -f1) bytes"
bash bench/device-slim.sh size "$D" || echo "device-pack: too big to send as it is: bash bench/device-slim.sh on .devcarry (see bench/device.sh's header)"
