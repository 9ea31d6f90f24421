#!/usr/bin/env bash
# Prepares .devcarry/ (git-ignored through .git/info/exclude) for bench/device.sh on a bare GPU
# machine: an xz-compressed Node binary, the bench bundled into one module, Dawn's addon
# (xz) with the two files of the `webgpu` package that load it, and the Vulkan loader + GLVND
# libraries the NVIDIA Vulkan driver needs. Run it here, on an x86-64 Linux with the project's
# node_modules; then name .devcarry in the device call's carry.
# Usage: bash bench/device-pack.sh        (prints the carry size; the limit is 64 MiB together
#        with the working tree: see BENCHMARKS.md "Device script" for sparse-checkout of test/fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
D=.devcarry
[ "$(uname -m)" = x86_64 ] || { echo "device-pack: the device machine is x86-64; build the carry on x86-64 (this is $(uname -m))" >&2; exit 1; }
mkdir -p "$D/lib" "$D/node_modules/webgpu/dist/linux-x64"
# xz -9 of the two binaries takes minutes: redone only when the binary is newer than its .xz
pack() { [ "$2" -nt "$1" ] || xz -T2 -9 -c "$1" > "$2"; }
pack "$(command -v node)" "$D/node.xz"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$D/node_modules/webgpu/"
pack node_modules/webgpu/dist/linux-x64/dawn.node "$D/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
# the Vulkan loader, and GLVND (libGLX_nvidia / libEGL_nvidia, which the NVIDIA ICD loads, link it)
for l in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libEGL.so.1 libGL.so.1 libOpenGL.so.0; do
  f=$(ldconfig -p | awk -v l="$l" '$1 == l && /x86-64/ { print $NF; exit }')
  [ -n "$f" ] || { echo "device-pack: $l not found here (apt-get install libvulkan1 libglvnd0 libgl1 libegl1 libopengl0)" >&2; exit 1; }
  cp -L "$f" "$D/lib/$l"
done
node bench/bundle.mjs "$D/bench.mjs"
node bench/bundle.mjs "$D/bench-vision.mjs" bench/vision.ts   # bench/device.sh --vision
cp bench/device.sh "$D/device.sh"
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devcarry/' "$exclude" 2>/dev/null || echo '/.devcarry/' >> "$exclude"
echo "carry $D: $(du -sb "$D" | cut -f1) bytes"
echo "working tree that travels: $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes (tracked files present)"
