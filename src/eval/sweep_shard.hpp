// The sharded `save sweep` (`mpirun -np N save sweep ... --out FILE`), on
// the machinery of eval/shard.hpp. Every rank builds the same Sweep (same
// arguments: the same planned bits, in the same order); then
//  1. the leader folds what an earlier, killed run left in FILE.ranks/
//     (rank-R.log, inject/sweep_log.hpp) into FILE.ranks/merged.log, keyed
//     by the bit's ordinal in the one-process order;
//  2. rank r sweeps the bits it owns (rank_sweeps: all bits of an element
//     go to one rank, elements dealt round-robin by Shard::owns) that
//     merged.log lacks, appending each to FILE.ranks/rank-R.log;
//  3. once every rank is done, the leader folds the logs again, replays the
//     records in ordinal order into `on_record` (the CSV / JSONL writer)
//     and the summary, calls `commit`, and removes FILE.ranks/: exactly the
//     file and summary a one-process sweep writes (timings aside).
// A rank killed mid-way loses at most the bit it was sweeping: the next run
// folds its log in at step 1 and sweeps only what is missing (ordinals are
// keys, so no bit runs twice or is counted twice). A run given `max_bits`
// (a batch slot too short for the whole sweep) stops after about that many
// bits at step 2, leaving FILE.ranks/ as a killed run would, and skips 3.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eval/shard.hpp"
#include "inject/sweep.hpp"

namespace save::eval {

// Whether this rank sweeps the bit at `slot`: its element is the rank's
// (Shard::owns over the global element index: one rank flips all of an
// element's bits, so the split is the same whatever bits are planned) and
// `done` (by ordinal; may be empty) does not hold it yet.
bool rank_sweeps(const Shard& shard, const BitSlot& slot, const std::vector<bool>& done);

struct ShardedSweep {
  std::string out;               // --out FILE: partial logs in FILE.ranks/
  std::string context;           // names the sweep's arguments (refuses another's logs)
  double tolerance = 0;          // SweepOptions::predict_tolerance, for the summary
  int64_t max_bits = 0;          // > 0: sweep at most this many this run (all ranks together)
  Sweep::Callback on_bit;        // after each bit this rank swept (progress)
  Sweep::Callback on_record;     // leader, step 3: every record, in order
  std::function<void()> commit;  // leader, step 3: after the last record
};

struct ShardedSweepOutcome {
  SweepSummary summary;  // leader: the whole sweep's; elsewhere this rank's
  int64_t ran = 0;       // bits swept by this run, all ranks together
  int64_t recorded = 0;  // bits already in the logs a killed run left
  bool complete = true;  // false: max_bits stopped it; FILE.ranks/ holds what ran
};

// Every rank calls it with the same arguments, on its own Sweep.
ShardedSweepOutcome run_sweep_sharded(Sweep& sweep, Shard& shard, const ShardedSweep& spec);

}  // namespace save::eval
