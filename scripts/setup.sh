#!/usr/bin/env bash
# Everything a fresh Debian machine needs to run the demo and the tests without a GPU:
# Chromium (its SwiftShader Vulkan driver gives Dawn and the browser tests a software WebGPU
# adapter, and it is the browser the e2e tests drive) and the Vulkan loader, then `npm ci`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1
  fi
}

have_vulkan_loader() {
  local ldconfig
  ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
  # No `grep -q`: with pipefail, grep quitting early can kill ldconfig with SIGPIPE.
  "$ldconfig" -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null
}

if [ ! -x /usr/bin/chromium ] || ! have_vulkan_loader; then
  echo "setup: installing chromium and the Vulkan loader (apt)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root apt-get install -y chromium libvulkan1
else
  echo "setup: chromium and libvulkan.so.1 present; skipping apt"
fi

npm ci --no-audit --no-fund
