#!/usr/bin/env bash
# Installs ONNX Runtime for the benchmark harness (bench/bench_models) into
# .cache/ort (gitignored). Never run by the build; run it by hand:
#
#   bash scripts/install-ort.sh [DEST]      # DEST defaults to .cache/ort
#
# Two npm packages, because no single one ships both halves for Linux:
#   onnxruntime-node   the Linux x64 shared library (bin/napi-v6/linux/x64/
#                      libonnxruntime.so.1). Installed with
#                      ONNXRUNTIME_NODE_INSTALL=skip: its install script would
#                      otherwise try to download CUDA add-ons and fail.
#   com.github.asus4.onnxruntime
#                      the C/C++ API headers (onnxruntime_c_api.h,
#                      onnxruntime_cxx_api.h, ...), under its iOS framework.
#                      The headers' ORT_API_VERSION is older than the library;
#                      the C API is backward compatible, so that works.
#
# Result (what CMake's SAVE_ORT_DIR expects):
#   DEST/include/onnxruntime_cxx_api.h ...
#   DEST/lib/libonnxruntime.so.1 (symlink into the npm tree), libonnxruntime.so
# Idempotent: does nothing when both are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
DEST="${1:-${SAVE_ORT_DIR:-$ROOT/.cache/ort}}"
ORT_NODE_VERSION="${ORT_NODE_VERSION:-1.30.0}"
ORT_HEADERS_VERSION="${ORT_HEADERS_VERSION:-0.4.9}"

INC="$DEST/include"
LIB="$DEST/lib"

report() {
  echo "ORT headers: $INC"
  echo "ORT library: $LIB/libonnxruntime.so.1 -> $(readlink -f "$LIB/libonnxruntime.so.1")"
  echo "configure:   cmake -S . -B build-bench -G Ninja -DSAVE_BUILD_BENCH=ON -DSAVE_ORT_DIR=$DEST"
}

if [ -f "$INC/onnxruntime_cxx_api.h" ] && [ -e "$LIB/libonnxruntime.so.1" ]; then
  echo "ONNX Runtime already installed in $DEST"
  report
  exit 0
fi

command -v npm >/dev/null || {
  echo "npm not found (Debian: apt-get install npm)" >&2
  exit 1
}
mkdir -p "$DEST"

# 1. The library: onnxruntime-node, without its download step.
NODE_PKG="$DEST/npm/node_modules/onnxruntime-node"
SO="$NODE_PKG/bin/napi-v6/linux/x64/libonnxruntime.so.1"
if [ ! -f "$SO" ]; then
  echo "== npm install onnxruntime-node@$ORT_NODE_VERSION (ONNXRUNTIME_NODE_INSTALL=skip)"
  mkdir -p "$DEST/npm"
  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$DEST/npm" --no-save --no-audit --no-fund \
    --loglevel=error "onnxruntime-node@$ORT_NODE_VERSION"
fi
[ -f "$SO" ] || {
  echo "onnxruntime-node did not ship $SO" >&2
  exit 1
}

# 2. The headers: com.github.asus4.onnxruntime (a 150 MB tarball; only the
# headers and package.json are kept).
if [ ! -f "$INC/onnxruntime_cxx_api.h" ]; then
  echo "== npm pack com.github.asus4.onnxruntime@$ORT_HEADERS_VERSION (headers only)"
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  (cd "$TMP" && npm pack --silent "com.github.asus4.onnxruntime@$ORT_HEADERS_VERSION" >/dev/null)
  TGZ="$(ls "$TMP"/*.tgz)"
  HDR="package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
  tar -xzf "$TGZ" -C "$TMP" package/package.json "$HDR"
  mkdir -p "$INC"
  cp "$TMP/$HDR"/*.h "$INC/"
  cp "$TMP/package/package.json" "$INC/asus4-package.json"
fi

# 3. A plain lib/ folder for CMake.
mkdir -p "$LIB"
ln -sfn "$SO" "$LIB/libonnxruntime.so.1"
ln -sfn libonnxruntime.so.1 "$LIB/libonnxruntime.so"
echo "installed: onnxruntime-node@$ORT_NODE_VERSION library," \
  "com.github.asus4.onnxruntime@$ORT_HEADERS_VERSION headers" \
  "(ORT_API_VERSION $(sed -n 's/^#define ORT_API_VERSION //p' "$INC/onnxruntime_c_api.h"))"
report
