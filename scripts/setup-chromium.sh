#!/usr/bin/env bash
# Installs headless Chromium for the dashboard's browser tests (issue 16): Debian's `chromium`
# package, driven by playwright-core (which downloads no browser of its own here).
#
# Idempotent. Never fails its caller when installation is impossible (no root, no apt, no network):
# it says why and exits 0. It exits non-zero only when the script itself is broken (a bug).
# The outcome is written to .upow/chromium-status, one line: `installed <path> <version>` or
# `unavailable <reason>`. The browser tests (npm run test:browser) skip only when it says
# `unavailable`; when Chromium is there but does not start or render, they fail.
#
#   scripts/setup-chromium.sh          # env: UPOW_CHROMIUM_STATUS to write the status elsewhere
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATUS="${UPOW_CHROMIUM_STATUS:-$ROOT/.upow/chromium-status}"
mkdir -p "$(dirname "$STATUS")"

say() { echo "setup-chromium: $*"; }
give_up() {
  say "Chromium not installed: $*; the browser tests will be skipped"
  echo "unavailable $*" >"$STATUS"
  exit 0
}

find_chromium() { command -v chromium || command -v chromium-browser || true; }

BIN="$(find_chromium)"
if [ -n "$BIN" ]; then
  say "found $BIN"
else
  command -v apt-get >/dev/null 2>&1 || give_up "no apt-get (not a Debian system) and no chromium on PATH"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else give_up "not root and no password-less sudo"; fi
  fi
  say "apt-get update"
  $SUDO apt-get update -qq >/dev/null 2>&1 || give_up "apt-get update failed (no network or mirror?)"
  say "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
    || give_up "apt-get install chromium failed"
  BIN="$(find_chromium)"
  [ -n "$BIN" ] || give_up "chromium installed but not on PATH"
fi

# Debian's wrapper script prints shell noise on some systems; the version line is what counts.
VERSION="$("$BIN" --version 2>/dev/null | grep -Eo '[0-9]+(\.[0-9]+){3}' | head -n1 || true)"
[ -n "$VERSION" ] || VERSION="unknown"
say "Chromium $VERSION at $BIN"
echo "installed $BIN $VERSION" >"$STATUS"
