#!/usr/bin/env bash
# Reproduces the unprotected fault-injection results of docs/RESULTS.md:
# for each bundled model, 10 trials x 1,000 test images at 0..16,384 flips,
# three series (random/accumulated, random/streaming, consecutive/accumulated)
# in one campaign folder per model, then the per-bit-position sweep.
# Usage: scripts/results-inject.sh [model-name ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
SAVE=build/src/save
OUT=${OUT:-results/inject}
THREADS=${THREADS:-2}
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(fmnist-cnn fmnist-resnet fmnist-vit)
for m in "${models[@]}"; do
  dir="$OUT/$m"
  common=(models/$m.onnx --data fashion-mnist --limit 1000 --batch 100 --trials 10 --seed 1
          --flips 0,1,16,256,4096,16384 --threads "$THREADS" --out "$dir")
  $SAVE inject "${common[@]}" --pattern random --scenario accumulated --target weights
  $SAVE inject "${common[@]}" --pattern random --scenario streaming --target all
  $SAVE inject "${common[@]}" --pattern consecutive --scenario accumulated --target weights
  $SAVE sweep models/$m.onnx --all-weights --sample "${SWEEP_SAMPLE:-20000}" --batch 64 --seed 1 \
    --threads "$THREADS" --out "$dir/sweep.csv" --json > "$dir/sweep.json"
done
