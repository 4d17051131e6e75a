#!/usr/bin/env bash
# Where --protect save's check time goes, per model and batch size: one
# `save run --json` per (model, batch), split from check_split_ms (outputs
# checked when written = range check + fingerprint in one pass; stored
# values verified before their readers; weights; repairs), per inference and
# as a share of the unprotected p50 measured right before it. Compute on one
# thread. Timings are wall time of the checks themselves (steady_clock around
# each hook), so they hold under load better than end-to-end ratios do; the
# end-to-end ratios are scripts/bench-protect.sh's.
# Usage: scripts/protect-split.sh [model-name ...]  (default: the three bundled)
# Environment: BATCHES ("1 64"), LIMIT64 (640), LIMIT1 (300), EXTRA (more flags
# for the save runs, e.g. "--weight-check host").
set -euo pipefail
cd "$(dirname "$0")/.."
SAVE=build/src/save
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(fmnist-cnn fmnist-resnet fmnist-vit)
isa=$(grep -o -m1 -w 'avx512f\|avx2' /proc/cpuinfo | head -1)
echo "ISA: ${isa:-unknown} ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | batch | none p50 ms | save p50 ms | write ms | read ms | weights ms | repairs ms | checks / none |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "${models[@]}"; do
  plan=$(mktemp)
  $SAVE analyze "models/$m.onnx" -o "$plan" > /dev/null
  for batch in ${BATCHES:-1 64}; do
    limit=$([ "$batch" = 1 ] && echo "${LIMIT1:-300}" || echo "${LIMIT64:-640}")
    run() {
      $SAVE run "models/$m.onnx" --data fashion-mnist --limit "$limit" --batch "$batch" \
        --threads 1 --json "$@" 2>/dev/null
    }
    none=$(run --protect none)
    # shellcheck disable=SC2086
    prot=$(run --protect save --plan "$plan" ${EXTRA:-})
    /usr/bin/python3 - "$m" "$batch" "$none" "$prot" <<'PY'
import json, sys
m, b, none, prot = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
runs = prot["warmup"] + prot["warm_runs"] + prot["excluded_runs"] + 1  # + the cold run
s = {k: v / runs for k, v in prot["check_split_ms"].items()}
base = none["latency_ms"]["p50"]
checks = s["write"] + s["read"] + s["weights"]
print(f"| {m} | {b} | {base:.3f} | {prot['latency_ms']['p50']:.3f} | {s['write']:.3f} | "
      f"{s['read']:.3f} | {s['weights']:.3f} | {s['recovery']:.3f} | {checks / base:.1%} |")
PY
  done
  rm -f "$plan"
done
