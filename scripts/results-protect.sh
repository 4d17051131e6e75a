#!/usr/bin/env bash
# Reproduces the protected-inference results of docs/RESULTS.md (issue 5):
# for each bundled model, none vs save on the same flips (random pattern,
# accumulated and streaming, 0 / 4,096 / 16,384 flips) at batch 64 and batch
# 1, fault-free false alarms on the 10,000 test images, and the reliable
# memory. Compute on one thread (the "device"); SAVE's checker thread takes
# the second core (the "host").
# Usage: scripts/results-protect.sh [model-name ...]   (default: all three)
# Environment: OUT (results/protect), LIMIT (2000 images), TRIALS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
SAVE=build/src/save
OUT=${OUT:-results/protect}
LIMIT=${LIMIT:-2000}
TRIALS=${TRIALS:-3}
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(fmnist-cnn fmnist-resnet fmnist-vit)
for m in "${models[@]}"; do
  dir="$OUT/$m"
  mkdir -p "$dir"
  $SAVE analyze models/$m.onnx -o "$dir/plan.json" > /dev/null
  for mode in none save; do
    for scenario in accumulated streaming; do
      $SAVE inject models/$m.onnx --data fashion-mnist --limit "$LIMIT" --batch 64 \
        --trials "$TRIALS" --seed 1 --flips 0,4096,16384 --threads 1 --scenario $scenario \
        --target all --protect $mode --plan "$dir/plan.json" --out "$dir/b64"
      $SAVE inject models/$m.onnx --data fashion-mnist --limit $((LIMIT / 4)) --batch 1 \
        --trials 1 --seed 1 --flips 0,4096 --threads 1 --scenario $scenario \
        --target all --protect $mode --plan "$dir/plan.json" --out "$dir/b1"
    done
  done
  $SAVE run models/$m.onnx --data fashion-mnist --batch 64 --threads 1 --protect save \
    --plan "$dir/plan.json" --json > "$dir/clean-10000.json"
done
