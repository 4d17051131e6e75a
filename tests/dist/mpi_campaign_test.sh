#!/usr/bin/env bash
# A campaign on 2 MPI ranks (loopback) against the same campaign in one
# process: the merged folder holds the same files and a byte-identical
# summary.json; a run that finds what a killed run left (a rank's log with
# a torn last line) resumes it without losing or repeating a trial; `save
# eval` on 2 ranks writes every campaign folder's summary.json byte for
# byte as one process does.
# Usage: mpi_campaign_test.sh SAVE_CLI MODELS_DIR WORK_DIR
set -euo pipefail
SAVE=$1
MODEL=$2/fmnist-cnn.onnx
WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
# Root in CI; two ranks on however many cores; shared memory between them.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMP_WAIT_POLICY=passive
ARGS=(inject "$MODEL" --data fashion-mnist --limit 128 --batch 64 --flips 0,64 --trials 3
  --seed 5 --threads 1)
fail() { echo "FAIL: $*" >&2; exit 1; }
keys() { # the sorted trial keys of a log, one per line
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l); print(j["series"], j["flips"], j["trial"])' "$1" | sort
}

echo "== one process"
"$SAVE" "${ARGS[@]}" --out "$WORK/one" > /dev/null
echo "== two ranks"
out=$("${MPIRUN[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/two")
echo "$out"
[ "$(grep -c 'trials run' <<< "$out")" = 1 ] || fail "expected one report (rank 0's), got: $out"
grep -q '^6 trials run, 0 already recorded' <<< "$out" || fail "rank 0 should count all 6 trials"
cmp "$WORK/one/summary.json" "$WORK/two/summary.json" || fail "summary.json differs"
[ "$(cd "$WORK/one" && ls | sort)" = "$(cd "$WORK/two" && ls | sort)" ] ||
  fail "the folders hold different files: $(ls "$WORK/one") vs $(ls "$WORK/two")"
[ "$(keys "$WORK/two/trials.jsonl" | uniq | wc -l)" = 6 ] || fail "trials.jsonl lacks trials"
[ "$(keys "$WORK/two/trials.jsonl" | wc -l)" = 6 ] || fail "trials.jsonl repeats trials"

echo "== resume what a killed 2-rank run left"
# Rank 0 had folded 2 trials into trials.jsonl; rank 1 had logged 2 more
# and was killed while writing a third.
K="$WORK/killed"
mkdir -p "$K/ranks/rank-1"
cp "$WORK/two/campaign.json" "$WORK/two"/golden-* "$K/"
cp "$WORK/two/campaign.json" "$K/ranks/rank-1/"
head -n 2 "$WORK/two/trials.jsonl" > "$K/trials.jsonl"
sed -n 3,4p "$WORK/two/trials.jsonl" > "$K/ranks/rank-1/trials.jsonl"
sed -n 5p "$WORK/two/trials.jsonl" | head -c 40 >> "$K/ranks/rank-1/trials.jsonl"
out=$("${MPIRUN[@]}" "$SAVE" "${ARGS[@]}" --out "$K")
echo "$out"
grep -q '^2 trials run, 4 already recorded' <<< "$out" || fail "the resumed run should run 2 trials"
cmp "$WORK/one/summary.json" "$K/summary.json" || fail "resumed summary.json differs"
[ ! -e "$K/ranks" ] || fail "rank folders left behind"
[ "$(keys "$K/trials.jsonl" | wc -l)" = 6 ] || fail "resumed trials.jsonl: $(keys "$K/trials.jsonl")"
[ "$(keys "$K/trials.jsonl" | uniq | wc -l)" = 6 ] || fail "resumed trials.jsonl repeats trials"

echo "== save eval on two ranks"
EARGS=(eval "$MODEL" --modes none --limit 64 --trials 1 --ood-samples 16 --threads 1 --seed 3)
"$SAVE" "${EARGS[@]}" --out "$WORK/eval-one" > /dev/null 2>&1
out=$("${MPIRUN[@]}" "$SAVE" "${EARGS[@]}" --out "$WORK/eval-two" 2> /dev/null)
n=0
for f in $(cd "$WORK/eval-one" && find . -name summary.json | sort); do
  cmp "$WORK/eval-one/$f" "$WORK/eval-two/$f" || fail "eval: $f differs"
  n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "eval wrote only $n campaign folders"
[ "$(cd "$WORK/eval-one" && find . -type f | sort)" = "$(cd "$WORK/eval-two" && find . -type f | sort)" ] ||
  fail "eval: the folders hold different files"
echo "PASS: $n eval campaigns and the inject campaign identical on 2 ranks"
