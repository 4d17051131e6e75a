#!/usr/bin/env bash
# Latency of protected inference relative to unprotected, measured in the same
# run: ROUNDS alternating rounds of `save run` per mode (none first), median of
# each mode's per-batch p50 over the rounds, ratio to none. Compute on one
# thread; SAVE's checker thread uses the second core.
# Usage: scripts/bench-protect.sh [model-name ...]  (default: all three)
# Environment: ROUNDS (5), BATCHES ("64 1"), LIMIT64 (1280), LIMIT1 (300),
# MODES (the modes to alternate, ';'-separated; default below), BASE_SAVE (the
# `save` binary of another build: adds a row "base:save" run with it and its
# own plan, for before/after numbers measured in the same rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
SAVE=build/src/save
ROUNDS=${ROUNDS:-5}
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(fmnist-cnn fmnist-resnet fmnist-vit)
IFS=';' read -r -a modes <<< "${MODES:-none;save;save --async-checks;save --activation-check range;save --weight-check host}"
[ -n "${BASE_SAVE:-}" ] && modes+=("base:save")
for m in "${models[@]}"; do
  plan=$(mktemp)
  $SAVE analyze models/$m.onnx -o "$plan" > /dev/null
  base_plan=$(mktemp)
  [ -n "${BASE_SAVE:-}" ] && "$BASE_SAVE" analyze models/$m.onnx -o "$base_plan" > /dev/null
  for batch in ${BATCHES:-64 1}; do
    limit=$([ "$batch" = 1 ] && echo "${LIMIT1:-300}" || echo "${LIMIT64:-1280}")
    for r in $(seq "$ROUNDS"); do
      for mode in "${modes[@]}"; do
        bin=$SAVE pl=$plan prot=$mode
        if [ "$mode" = "base:save" ]; then bin=$BASE_SAVE pl=$base_plan prot=save; fi
        # shellcheck disable=SC2086
        p50=$($bin run models/$m.onnx --data fashion-mnist --limit "$limit" --batch "$batch" \
              --threads 1 --protect $prot --plan "$pl" --json 2>/dev/null |
              /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p50"])')
        echo "$m $batch $r ${mode// /_} $p50"
      done
    done
  done
  rm -f "$plan" "$base_plan"
done | /usr/bin/python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin]
keys = []
for m, b, r, mode, p in rows:
    if (m, b, mode) not in keys: keys.append((m, b, mode))
print("| model | batch | mode | p50 ms (median of rounds) | vs none |")
print("|---|---:|---|---:|---:|")
for m, b, mode in keys:
    v = statistics.median(float(p) for mm, bb, r, md, p in rows if (mm, bb, md) == (m, b, mode))
    base = statistics.median(float(p) for mm, bb, r, md, p in rows if (mm, bb, md) == (m, b, "none"))
    name = " ".join(mode.split("_")).replace("base:save", "save (BASE_SAVE build)")
    print(f"| {m} | {b} | {name} | {v:.3f} | {v / base:.2f}x |")
'
