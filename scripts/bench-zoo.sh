#!/usr/bin/env bash
# Times SAVE against ONNX Runtime on the benchmark zoo and the bundled models
# (docs/PERF.md): warm latency (rounds alternate ours/ORT; median of the
# per-round ratios with quartiles), cold start and peak memory per engine
# (each in its own process), batch 1 and 8, 1 and 2 threads.
#
#   scripts/bench-zoo.sh                 # everything, bounded by the knobs below
#   ROUNDS=4 BUDGET_S=3 scripts/bench-zoo.sh      # a quick check that it works
#   MODELS="zoo/resnet50.onnx models/fmnist-cnn.onnx" THREADS=1 scripts/bench-zoo.sh
#
# Knobs (environment):
#   ROUNDS    timed rounds per model, batch and thread count (default 20)
#   BUDGET_S  but stop a model's rounds after this many seconds (default 8;
#             at least 4 rounds always run)
#   WARMUP    untimed runs of each engine before the rounds (default 2)
#   BATCHES   default 1,8          THREADS  default "1 2"
#   MODELS    default: the six zoo models (exported by tools/make_zoo.py into
#             zoo/ when missing) and models/fmnist-{cnn,resnet,vit}.onnx
#   COLD=0    skip the cold-start / peak-memory child processes
#   ORT_SPIN  ORT intra-op spinning (default 1, ORT's default)
#   BUILD     build folder (default build)   OUT  results (default results/bench-zoo)
# Output: OUT/t<threads>.{txt,json} and OUT/table.md (bench/results_to_md.py).
# Needs ONNX Runtime (scripts/install-ort.sh, run here when missing: npm, network
# once) and Debian's python3-torch / python3-torchvision for the zoo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-20}"
BUDGET_S="${BUDGET_S:-8}"
WARMUP="${WARMUP:-2}"
BATCHES="${BATCHES:-1,8}"
THREADS="${THREADS:-1 2}"
COLD="${COLD:-1}"
ORT_SPIN="${ORT_SPIN:-1}"
BUILD="${BUILD:-build}"
OUT="${OUT:-results/bench-zoo}"
ZOO=(resnet18 resnet50 mobilenet_v3_large efficientnet_b0 vit_b_16 bert_base)

bash scripts/install-ort.sh >/dev/null
# The usual build folder, (re)configured to find ONNX Runtime: only
# bench_models links it.
type_flag=()
[ -f "$BUILD/CMakeCache.txt" ] || type_flag=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
cmake -S . -B "$BUILD" "${type_flag[@]}" -DSAVE_BUILD_BENCH=ON \
  -DSAVE_ORT_DIR="$(pwd)/.cache/ort" >/dev/null
grep -q "^SAVE_ORT_LIBRARY:FILEPATH=.*onnxruntime" "$BUILD/CMakeCache.txt" || {
  echo "bench-zoo: CMake did not find ONNX Runtime in .cache/ort" >&2
  exit 1
}
ninja -C "$BUILD" bench_models >/dev/null

if [ -z "${MODELS:-}" ]; then
  missing=()
  for m in "${ZOO[@]}"; do [ -f "zoo/$m.onnx" ] || missing+=("$m"); done
  if [ ${#missing[@]} -gt 0 ]; then
    (IFS=,; /usr/bin/python3 tools/make_zoo.py --out zoo --models "${missing[*]}")
  fi
  MODELS=""
  for m in "${ZOO[@]}"; do MODELS+="zoo/$m.onnx "; done
  MODELS+="models/fmnist-cnn.onnx models/fmnist-resnet.onnx models/fmnist-vit.onnx"
fi

mkdir -p "$OUT"
cold_flag=--cold
[ "$COLD" = 0 ] && cold_flag=--no-cold
start=$(date +%s)
jsons=()
for t in $THREADS; do
  echo "== threads $t (uptime: $(uptime))"
  # shellcheck disable=SC2086  # MODELS is a list
  "$BUILD/bench/bench_models" $MODELS --threads "$t" --batch "$BATCHES" --rounds "$ROUNDS" \
    --budget-s "$BUDGET_S" --warmup "$WARMUP" --ort-spin "$ORT_SPIN" "$cold_flag" \
    --json "$OUT/t$t.json" | tee "$OUT/t$t.txt" || true
  jsons+=("$OUT/t$t.json")
done
python3 bench/results_to_md.py "${jsons[@]}" > "$OUT/table.md"
echo "== $(($(date +%s) - start)) s; table: $OUT/table.md (uptime: $(uptime))"
