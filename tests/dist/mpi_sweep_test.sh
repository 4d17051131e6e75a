#!/usr/bin/env bash
# `save sweep` on 2 MPI ranks (loopback) against the same sweep in one
# process: the merged --out CSV is byte-identical and the --json summary
# the same but for its timings; a 2-rank run stopped mid-way (--max-bits,
# then a rank's log torn mid-line as a SIGKILL inside a write leaves it)
# resumes when the same command runs again, and merges to the same bytes
# without a bit lost or repeated.
# Usage: mpi_sweep_test.sh SAVE_CLI MODELS_DIR WORK_DIR
set -euo pipefail
SAVE=$1
MODEL=$2/fmnist-cnn.onnx
WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMP_WAIT_POLICY=passive
ARGS=(sweep "$MODEL" --all-weights --sample 3000 --seed 7 --batch 16 --threads 1 --predict 1e-5
  --json)
fail() { echo "FAIL: $*" >&2; exit 1; }
# The --json summary without its wall-clock fields.
untimed() { python3 -c 'import json,sys
j = json.load(open(sys.argv[1])); j.pop("seconds"); j.pop("bits_per_second")
print(json.dumps(j, sort_keys=True))' "$1"; }

echo "== one process"
"$SAVE" "${ARGS[@]}" --out "$WORK/one.csv" > "$WORK/one.json" 2> /dev/null
[ "$(wc -l < "$WORK/one.csv")" = 3001 ] || fail "one.csv: expected 3000 records"

echo "== two ranks"
"${MPIRUN[@]}" "$SAVE" "${ARGS[@]}" --out "$WORK/two.csv" > "$WORK/two.json" 2> "$WORK/two.err"
grep -q '^ranks       2: 3000 bits swept now, 0 already in' "$WORK/two.err" ||
  fail "rank 0 should count all 3000 bits: $(cat "$WORK/two.err")"
cmp "$WORK/one.csv" "$WORK/two.csv" || fail "the 2-rank CSV differs from the one-process CSV"
[ "$(untimed "$WORK/one.json")" = "$(untimed "$WORK/two.json")" ] || fail "the summaries differ"
[ ! -e "$WORK/two.csv.ranks" ] || fail "partial logs left behind"

echo "== stop a 2-rank run mid-way (--max-bits), tear a rank's log, then resume it"
# Deterministic, where SIGKILLing the ranks at a poll raced the sweep (a
# fast machine finished all 3000 bits between two polls). The state is the
# one a SIGKILL leaves: records go to the logs with write(2), unbuffered, so
# the kernel holds every line but the one torn inside its write.
K="$WORK/killed.csv"
"${MPIRUN[@]}" "$SAVE" "${ARGS[@]}" --out "$K" --max-bits 400 > "$WORK/stopped.json" \
  2> "$WORK/stopped.err"
grep -q '^ranks       2: stopped at --max-bits 400: 400 bits swept now, 400 of 3000 kept' \
  "$WORK/stopped.err" || fail "the stopped run's report: $(cat "$WORK/stopped.err")"
[ -e "$K.ranks/rank-1.log" ] && [ ! -e "$K" ] ||
  fail "a run stopped by --max-bits must leave its logs and no --out file"
[ "$(cat "$K.ranks"/rank-*.log | grep -vc '^#')" -le 400 ] || fail "more than 400 records kept"
# Tear rank 1's last line in half, as a kill inside its write would.
python3 - "$K.ranks/rank-1.log" << 'EOF'
import os, sys
p = sys.argv[1]
data = open(p, 'rb').read()
lines = data.splitlines(keepends=True)
if len(lines) > 1:
    last = lines[-1].rstrip(b'\n')
    os.truncate(p, len(data) - len(lines[-1]) + len(last) // 2)
EOF
"${MPIRUN[@]}" "$SAVE" "${ARGS[@]}" --out "$K" > "$WORK/resumed.json" 2> "$WORK/resumed.err"
cat "$WORK/resumed.err" | grep '^ranks' || fail "no ranks line: $(cat "$WORK/resumed.err")"
read -r now before < <(sed -n 's/^ranks *2: \([0-9]*\) bits swept now, \([0-9]*\) already.*/\1 \2/p' \
  "$WORK/resumed.err")
[ "$before" -gt 0 ] || fail "the resumed run found nothing the killed run recorded"
[ $((now + before)) = 3000 ] || fail "resumed: $now swept now + $before recorded != 3000 bits"
cmp "$WORK/one.csv" "$K" || fail "the resumed CSV differs from the one-process CSV"
[ "$(untimed "$WORK/one.json")" = "$(untimed "$WORK/resumed.json")" ] ||
  fail "the resumed summary differs"
[ ! -e "$K.ranks" ] || fail "partial logs left behind after the resume"
echo "PASS: 2-rank sweep and its resume identical to one process ($before bits resumed)"
