#!/usr/bin/env bash
# Installs a second execution backend for CI (issue 19): onnxruntime-node's WebGPU EP on Mesa's
# lavapipe, a software Vulkan driver. Debian bookworm's own Mesa (22) lacks features Dawn needs, so
# mesa-vulkan-drivers comes from <codename>-backports (Mesa >= 25). The backports suite is added to
# the existing deb822 sources entry (no host is named here), so it works behind any mirror.
#
# Idempotent. Never fails its caller when installation is impossible (no root, no apt, no network):
# it says why and exits 0. It exits non-zero only when the script itself is broken (a bug).
# The outcome is written to .upow/webgpu-status (one line `installed|unavailable <reason>`), which
# the WebGPU tests read: they skip when it says `unavailable` or is missing, and fail when it says
# `installed` but the EP does not run.
#
#   scripts/setup-webgpu.sh            # env: UPOW_WEBGPU_STATUS to write the status elsewhere
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATUS="${UPOW_WEBGPU_STATUS:-$ROOT/.upow/webgpu-status}"
mkdir -p "$(dirname "$STATUS")"

say() { echo "setup-webgpu: $*"; }
give_up() {
  say "WebGPU not installed: $*; the WebGPU tests will be skipped"
  echo "unavailable $*" >"$STATUS"
  exit 0
}

command -v dpkg-query >/dev/null 2>&1 || give_up "no dpkg-query (not a Debian system)"

CODENAME="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
[ -n "$CODENAME" ] || give_up "no VERSION_CODENAME in /etc/os-release"
BACKPORTS="$CODENAME-backports"

mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/' || true; }

if [ "$(mesa_major)" != "" ] && [ "$(mesa_major)" -ge 25 ]; then
  say "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
else
  command -v apt-get >/dev/null 2>&1 || give_up "no apt-get (not a Debian system)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else give_up "not root and no password-less sudo"; fi
  fi
  # The Debian deb822 entry whose Suites: line holds the release itself (not -security/-updates).
  SRC=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    if grep -Eq "^Suites:.*(^|[[:space:]])$CODENAME([[:space:]]|\$)" "$f"; then SRC="$f"; break; fi
  done
  [ -n "$SRC" ] || give_up "no deb822 entry with Suites: $CODENAME in /etc/apt/sources.list.d/"
  if grep -Eq "^Suites:.*[[:space:]]$BACKPORTS([[:space:]]|\$)" "$SRC"; then
    say "$SRC already lists $BACKPORTS"
  else
    say "adding $BACKPORTS to the Suites: line of $SRC"
    $SUDO sed -i -E "/^Suites:.*(^|[[:space:]])$CODENAME([[:space:]]|\$)/ s/[[:space:]]*\$/ $BACKPORTS/" "$SRC" \
      || give_up "could not edit $SRC"
  fi
  say "apt-get update"
  $SUDO apt-get update -qq >/dev/null 2>&1 || give_up "apt-get update failed (no network or mirror?)"
  say "apt-get install -t $BACKPORTS mesa-vulkan-drivers"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t "$BACKPORTS" mesa-vulkan-drivers >/dev/null \
    || give_up "apt-get install -t $BACKPORTS mesa-vulkan-drivers failed"
  major="$(mesa_major)"
  [ -n "$major" ] && [ "$major" -ge 25 ] || give_up "installed mesa-vulkan-drivers is ${major:-missing}, Dawn needs >= 25"
  say "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
fi

ICD="$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -n1 || true)"
[ -n "$ICD" ] || give_up "no lavapipe ICD (/usr/share/vulkan/icd.d/lvp_icd*.json) after installation"
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || give_up "the Vulkan loader libvulkan.so.1 is not on the library path"

# The real check: onnxruntime-node's WebGPU EP runs one step of a tiny graph and matches the CPU EP.
if [ ! -d "$ROOT/node_modules/onnxruntime-node" ]; then
  give_up "node_modules not installed yet (run npm ci first), cannot probe the WebGPU EP"
fi
say "probing the WebGPU EP (lavapipe, $ICD)"
if out="$(cd "$ROOT" && TS_NODE_TRANSPILE_ONLY=1 timeout 120 npx ts-node scripts/webgpu/probe.ts 2>/dev/null)"; then
  say "WebGPU EP works: $out"
  echo "installed $out" >"$STATUS"
else
  give_up "the WebGPU EP did not run a step: ${out:-probe failed}"
fi
