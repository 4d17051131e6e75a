#!/usr/bin/env bash
# README command 1: install dependencies, build, run the main job on a
# bundled model: every protection mode side by side under bit flips
# (`save eval --quick`, under a minute on 2 cores), ending with the table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo
echo "== save eval models/fmnist-cnn.onnx --out results/quick --quick"
# A fresh folder: a re-run after rebuilding measures the new code instead of
# resuming the old results (and a retrained model is not refused).
rm -rf results/quick
./build/src/save eval models/fmnist-cnn.onnx --out results/quick --quick
