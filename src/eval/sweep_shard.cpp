#include "eval/sweep_shard.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "inject/sweep_log.hpp"

namespace save::eval {

namespace {

namespace fs = std::filesystem;

fs::path ranks_dir(const std::string& out) {
  return fs::path(out + ".ranks");
}

fs::path merged_log(const std::string& out) {
  return ranks_dir(out) / "merged.log";
}

std::vector<fs::path> rank_logs(const std::string& out) {
  std::vector<fs::path> logs;
  std::error_code ec;
  if (!fs::is_directory(ranks_dir(out), ec)) return logs;
  for (const auto& e : fs::directory_iterator(ranks_dir(out))) {
    std::string name = e.path().filename().string();
    if (name.rfind("rank-", 0) == 0 && name.ends_with(".log")) logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// merged.log and every rank log, by ordinal (merged.log's record first).
std::map<uint64_t, SweepRecord> all_records(const std::string& out, const std::string& context) {
  std::map<uint64_t, SweepRecord> recs = read_sweep_log(merged_log(out).string(), context);
  for (const fs::path& p : rank_logs(out))
    for (auto& [ordinal, r] : read_sweep_log(p.string(), context)) recs.emplace(ordinal, r);
  return recs;
}

// Step 1: one merged.log, no rank logs. merged.log is replaced before the
// rank logs go: a kill between leaves records in both, which the next fold
// takes once (by ordinal).
void fold_rank_logs(const std::string& out, const std::string& context) {
  ensure_dir(ranks_dir(out).string());
  std::vector<fs::path> logs = rank_logs(out);
  if (logs.empty()) return;
  write_sweep_log(merged_log(out).string(), context, all_records(out, context));
  for (const fs::path& p : logs) {
    std::error_code ec;
    fs::remove(p, ec);
    SAVE_CHECK(!ec, "cannot remove '{}': {}", p.string(), ec.message());
  }
}

}  // namespace

bool rank_sweeps(const Shard& shard, const BitSlot& slot, const std::vector<bool>& done) {
  if (!shard.owns(static_cast<size_t>(slot.element))) return false;
  return slot.ordinal >= done.size() || !done[slot.ordinal];
}

ShardedSweepOutcome run_sweep_sharded(Sweep& sweep, Shard& shard, const ShardedSweep& spec) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const uint64_t planned = sweep.planned_bits();
  leader_first(shard, [&]() -> std::string {
    if (shard.leader()) fold_rank_logs(spec.out, spec.context);
    return "";
  });

  // Step 2: this rank's share of what is missing.
  ShardedSweepOutcome outcome;
  std::vector<bool> done(planned, false);
  for (const auto& [ordinal, r] : read_sweep_log(merged_log(spec.out).string(), spec.context)) {
    SAVE_CHECK(ordinal < planned, "{} records bit #{} but this sweep plans only {} bits; remove it",
               merged_log(spec.out).string(), ordinal, planned);
    done[ordinal] = true;
    ++outcome.recorded;
  }
  // max_bits, split evenly: each rank stops after its part.
  const int64_t rank_limit =
      spec.max_bits > 0 ? (spec.max_bits + shard.size() - 1) / shard.size() : 0;
  int64_t rank_ran = 0;
  {
    SweepLogWriter log(
        (ranks_dir(spec.out) / ("rank-" + std::to_string(shard.rank()) + ".log")).string(),
        spec.context);
    outcome.summary = sweep.run(
        [&](const SweepTensor& t, const BitEffect& e) {
          size_t ti = static_cast<size_t>(&t - sweep.tensors().data());
          log.append(SweepRecord{ti, e});
          ++rank_ran;
          if (spec.on_bit) spec.on_bit(t, e);
        },
        [&](const BitSlot& slot) {
          return (rank_limit == 0 || rank_ran < rank_limit) && rank_sweeps(shard, slot, done);
        });
  }  // synced and closed before the others are told this rank is done
  outcome.ran = shard.sum(outcome.summary.bits);
  outcome.complete = outcome.ran + outcome.recorded == static_cast<int64_t>(planned);
  if (!shard.leader() || !outcome.complete) return outcome;

  // Step 3: every record, in the one-process order.
  std::map<uint64_t, SweepRecord> recs = all_records(spec.out, spec.context);
  SAVE_CHECK(recs.size() == planned && (recs.empty() || recs.rbegin()->first == planned - 1),
             "the ranks' logs in {} hold {} of the {} planned bits", ranks_dir(spec.out).string(),
             recs.size(), planned);
  SweepSummary sum;
  for (const auto& [ordinal, r] : recs) {
    SAVE_CHECK(r.tensor < sweep.tensors().size(), "{}: bit #{} names tensor #{}, not in this sweep",
               ranks_dir(spec.out).string(), ordinal, r.tensor);
    sum.add(r.effect, spec.tolerance);
    if (spec.on_record) spec.on_record(sweep.tensors()[r.tensor], r.effect);
  }
  if (spec.commit) spec.commit();
  std::error_code ec;
  fs::remove_all(ranks_dir(spec.out), ec);
  SAVE_CHECK(!ec, "cannot remove '{}': {}", ranks_dir(spec.out).string(), ec.message());
  sum.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  outcome.summary = sum;
  return outcome;
}

}  // namespace save::eval
