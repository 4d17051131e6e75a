#!/usr/bin/env bash
# README command 2: build (if needed) and run every test: unit tests,
# whole-model gates, ONNX conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2 "$@"
