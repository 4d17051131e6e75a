#!/usr/bin/env bash
# The fuzzing tier: builds the libFuzzer harnesses (fuzz/, clang++ with
# ASan + UBSan + coverage, in build-fuzz/), gathers seed corpora from the
# bundled models, the hand-made bad files and fuzz/seeds/, and runs each
# harness for a stated number of executions or seconds.
#
#   scripts/fuzz.sh                     # every harness, 20,000 executions each
#   scripts/fuzz.sh --runs 1000000 npy  # one harness, 10^6 executions
#   scripts/fuzz.sh --time 600          # every harness, 10 minutes each
#   scripts/fuzz.sh --jobs 2 ...        # libFuzzer -fork=2 (parallel workers)
#   scripts/fuzz.sh --build-dir DIR ... # harnesses from an existing tree
#                                       # configured with -DSAVE_FUZZ=ON (CI's)
#
# Harnesses: model (bytes -> graph -> plan), npy, plan, trial_log.
# A crash, sanitizer report, timeout (-timeout, default 30 s per input) or
# out-of-memory (-rss_limit_mb) stops the harness, leaves the input in
# build-fuzz/crashes/ and makes this script exit non-zero; turn it into a
# regression test (docs/RELIABILITY.md says how). Prints one line per
# harness: executions, seconds, corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=20000
TIME=""
B=build-fuzz
JOBS=""
HARNESSES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --time) TIME="$2"; RUNS=""; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --build-dir) B="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) HARNESSES+=("$1"); shift ;;
  esac
done
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=(model npy plan trial_log)

if [ ! -f "$B/build.ninja" ]; then
  launcher=()
  command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAVE_FUZZ=ON \
    -DSAVE_BUILD_TESTS=OFF -DSAVE_BUILD_PYTHON=OFF -DCMAKE_CXX_COMPILER=clang++-14 \
    "${launcher[@]}" > /dev/null
elif ! grep -q '^SAVE_FUZZ:BOOL=ON' "$B/CMakeCache.txt"; then
  echo "fuzz.sh: $B is not configured with -DSAVE_FUZZ=ON (clang++): no harnesses there" >&2
  exit 2
fi
ninja -C "$B" $(printf 'fuzz_%s ' "${HARNESSES[@]}") > /dev/null

# Seed corpora (read-only inputs; new finds go to $B/corpus/<harness>/).
S="$B/seeds"
rm -rf "$S"
mkdir -p "$S/model" "$S/npy" "$S/plan" "$S/trial_log" "$B/crashes"
cp models/fmnist-cnn.onnx tests/data/*.onnx tests/data/bad/*.onnx "$S/model/"
# One small model per operator from ONNX's backend suite (Debian's
# libonnx-testdata), when installed: every op type the importer knows.
if [ -d /usr/share/libonnx-testdata/data/node ]; then
  for d in /usr/share/libonnx-testdata/data/node/*/; do
    n=$(basename "$d")
    [ -f "$d/model.onnx" ] && cp "$d/model.onnx" "$S/model/$n.onnx"
  done
fi
cp tests/data/bad/*.npy models/ref/*.npy "$S/npy/"
cp fuzz/seeds/plan/* "$S/plan/"
cp fuzz/seeds/trial_log/* "$S/trial_log/"

status=0
for h in "${HARNESSES[@]}"; do
  mkdir -p "$B/corpus/$h"
  limit=(-runs="$RUNS")
  [ -n "$TIME" ] && limit=(-max_total_time="$TIME")
  fork=()
  [ -n "$JOBS" ] && fork=(-fork="$JOBS" -ignore_crashes=0)
  log="$B/fuzz_$h.log"
  t0=$(date +%s)
  # detect_leaks=0: oneDNN and OpenMP keep per-thread buffers for the
  # process's life (as in the ASan unit tests).
  if ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$B/fuzz/fuzz_$h" "${limit[@]}" "${fork[@]}" -timeout=30 -rss_limit_mb=6144 \
      -max_len=2000000 -print_final_stats=1 -artifact_prefix="$B/crashes/$h-" \
      "$B/corpus/$h" "$S/$h" > "$log" 2>&1; then
    result="ok"
  else
    result="FAILED (see $log and $B/crashes/)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  echo "fuzz_$h: ${execs:-?} executions in $(( $(date +%s) - t0 )) s," \
    "corpus $(ls "$B/corpus/$h" | wc -l) files: $result"
done
exit $status
