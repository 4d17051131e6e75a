#!/usr/bin/env bash
# Campaign throughput on 2 MPI ranks vs one process, --threads 1 per rank
# (issue 14's target: >= 1.8x). Alternates the two, ROUNDS times, each into
# a fresh folder, and prints the median of the per-round ratios of wall
# time (one process / two ranks) with the machine's load.
#   bash bench/mpi_scaling.sh [MODEL] [ROUNDS] [TRIALS]
# WHAT=sweep times `save sweep` instead (issue 14: sweep throughput linear
# in ranks): BITS sampled bits (default 5000) of all weights, the two CSVs
# compared byte for byte.
# SETSID=1 starts the one-process run and each rank in a session of its own
# (`setsid -w`): with the kernel's autogroup scheduling
# (/proc/sys/kernel/sched_autogroup_enabled) a busy machine shares CPU time
# per session, so ranks that share mpirun's session share one session's
# time however many there are.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/fmnist-cnn.onnx}
ROUNDS=${2:-5}
TRIALS=${3:-8}
SAVE=build/src/save
WRAP=()
[ "${SETSID:-0}" = 1 ] && WRAP=(setsid -w)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMP_WAIT_POLICY=passive
WHAT=${WHAT:-inject}
ARGS=(inject "$MODEL" --data fashion-mnist --limit 1000 --batch 64 --flips 0,256 --trials "$TRIALS"
  --seed 1 --threads 1)
EXT=""  # inject writes a folder, sweep a CSV
if [ "$WHAT" = sweep ]; then
  ARGS=(sweep "$MODEL" --all-weights --sample "${BITS:-5000}" --seed 1 --batch 64 --threads 1)
  EXT=.csv
fi
# The merged result against the one-process one.
same() {
  if [ "$WHAT" = sweep ]; then cmp -s "$1" "$2"; else cmp -s "$1/summary.json" "$2/summary.json"; fi
}
secs() { local t0 t1; t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 1e9}'; }
if [ "$WHAT" = sweep ]; then
  echo "model $MODEL, save sweep of ${BITS:-5000} sampled bits on 64 images, --threads 1 per rank"
else
  echo "model $MODEL, $((2 * TRIALS)) trials of 1000 images per campaign, --threads 1 per rank"
fi
echo "load before: $(uptime); autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a), SETSID=${SETSID:-0}"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    one=$(secs "${WRAP[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/one-$r$EXT")
    two=$(secs mpirun --allow-run-as-root --oversubscribe -np 2 "${WRAP[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/two-$r$EXT")
  else
    two=$(secs mpirun --allow-run-as-root --oversubscribe -np 2 "${WRAP[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/two-$r$EXT")
    one=$(secs "${WRAP[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/one-$r$EXT")
  fi
  same "$WORK/one-$r$EXT" "$WORK/two-$r$EXT" || { echo "the 2-rank result differs"; exit 1; }
  ratio=$(awk -v a="$one" -v b="$two" 'BEGIN {print a / b}')
  ratios+=("$ratio")
  printf 'round %d: one process %.2f s, two ranks %.2f s, speed-up %.2fx\n' "$r" "$one" "$two" "$ratio"
done
med=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
printf 'median speed-up of 2 ranks over 1 process: %.2fx (%d rounds)\n' "$med" "$ROUNDS"
echo "load after: $(uptime)"
