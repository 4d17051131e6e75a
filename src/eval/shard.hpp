// One process's share of work spread over several (`mpirun -np N save
// inject|eval`, src/dist/). The interface knows nothing of MPI, so the
// engine builds and runs without it; src/dist/ implements it on MPI.
//
// A sharded campaign (`save inject`) in DIR runs in three steps:
//  1. the leader (rank 0) folds what an earlier, killed distributed run
//     left in DIR/ranks/ into DIR/trials.jsonl, claims DIR, computes the
//     golden answers and lists the trials still to run; every rank gets that
//     list (or the leader's error, which every rank then throws);
//  2. rank r runs items r, r + N, r + 2N, ... of the list into its own
//     resumable campaign folder DIR/ranks/rank-R/ (its own trials.jsonl,
//     appended and fsynced per trial, the golden copied from DIR);
//  3. once every rank is done, the leader folds the rank logs into
//     DIR/trials.jsonl, removes DIR/ranks/ and writes the summary, CSV,
//     report and plot from DIR's log: exactly the files, and for
//     summary.json exactly the bytes, a one-process run writes.
// A rank killed mid-way loses at most the trial it was running: the next
// run folds its log in at step 1 and lists only what is missing (trials are
// keyed, so none runs twice or is counted twice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "eval/campaign.hpp"

namespace save::eval {

class Shard {
 public:
  virtual ~Shard() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Collective: every rank calls it; all return the leader's `text` (the
  // others' argument is ignored).
  virtual std::string broadcast(const std::string& text) = 0;
  // Collective: the sum of every rank's `v`; returns once all called it.
  virtual int64_t sum(int64_t v) = 0;

  bool leader() const { return rank() == 0; }
  // Item i of an ordered list belongs to rank i % size.
  bool owns(size_t item) const {
    return item % static_cast<size_t>(size()) == static_cast<size_t>(rank());
  }
};

// The one rank of a run without a launcher: lets a one-process run take the
// sharded, resumable path (`save sweep --max-bits` without mpirun).
class OneProcessShard : public Shard {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string broadcast(const std::string& text) override { return text; }
  int64_t sum(int64_t v) override { return v; }
};

// An error every rank throws together (the leader's, from leader_first):
// the ranks can exit side by side instead of aborting the job.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// Runs `fn` on the leader first, then (if it succeeded) on every other rank;
// a leader that throws Error makes every rank (itself too) throw its
// message as CollectiveError, so no rank
// waits on a leader that failed. `fn` returns the text every rank gets back
// (the leader's return value).
std::string leader_first(Shard& shard, const std::function<std::string()>& fn);

// The sharded `save inject` (steps above). Every rank calls it with the
// same spec. On the leader the outcome is the whole campaign's (ran: trials
// run by all ranks); elsewhere it covers this rank's share only, and no
// file in DIR is written.
CampaignOutcome run_campaign_sharded(const CampaignSpec& spec, Session& session,
                                     const Dataset& data, Shard& shard);

}  // namespace save::eval
