#!/usr/bin/env bash
# README command 1: install dependencies, build, run the main job on a
# bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo
echo "== save run models/fmnist-resnet.onnx --data fashion-mnist --batch 64"
./build/src/save run models/fmnist-resnet.onnx --data fashion-mnist --batch 64
