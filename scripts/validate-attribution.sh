#!/usr/bin/env bash
# Validates bit attribution against ground truth (issue 4, item 5; numbers in
# docs/ANALYSIS.md): `save sweep --predict` flips weight bits of a bundled
# model one at a time on a validation batch and counts, at the tolerance,
#  1. a uniform sample of the weight bits that `save analyze` predicts
#     robust (ROBUST_SAMPLE; 0 = all of them): the false-robust count must
#     be 0, and
#  2. a uniform sample of all weight bits (SAMPLE): the shares predicted
#     robust and conservatively non-robust.
# Usage: scripts/validate-attribution.sh [model-name]   (default fmnist-resnet)
# Env: SAVE (binary), OUT, THREADS, BATCH (validation images), ROBUST_SAMPLE,
# SAMPLE, TOL, SEED.
set -euo pipefail
cd "$(dirname "$0")/.."
SAVE=${SAVE:-build/src/save}
m=${1:-fmnist-resnet}
OUT=${OUT:-results/analysis-validation/$m}
THREADS=${THREADS:-2}
BATCH=${BATCH:-8}
ROBUST_SAMPLE=${ROBUST_SAMPLE:-20000}
SAMPLE=${SAMPLE:-10000}
TOL=${TOL:-1e-5}
SEED=${SEED:-1}
mkdir -p "$OUT"
common=(models/$m.onnx --all-weights --batch "$BATCH" --seed "$SEED" --threads "$THREADS" --predict "$TOL")
$SAVE analyze models/$m.onnx --tolerance "$TOL" --json > "$OUT/analyze.json"
$SAVE sweep "${common[@]}" --only robust --sample "$ROBUST_SAMPLE" --out "$OUT/predicted-robust.csv" --json \
  > "$OUT/predicted-robust.json"
$SAVE sweep "${common[@]}" --sample "$SAMPLE" --out "$OUT/sample.csv" --json > "$OUT/sample.json"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
for name in ("predicted-robust", "sample"):
    j = json.load(open(f"{out}/{name}.json"))
    p = j["prediction"]
    n = sum(p[k] for k in ("predicted_robust_truly_robust", "false_robust", "conservative",
                           "predicted_nonrobust_truly_nonrobust"))
    pr = p["predicted_robust_truly_robust"] + p["false_robust"]
    print(f"{name}: {n} bits swept in {j['seconds']:.0f} s; predicted robust {pr} "
          f"({100 * pr / max(n, 1):.2f}%), false-robust {p['false_robust']} "
          f"(reader outputs >= tol: {p['false_robust_reader_outputs']}), conservative "
          f"{p['conservative']} ({100 * p['conservative'] / max(n, 1):.2f}%)")
PY
