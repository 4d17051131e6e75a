// The sharded sweep (eval/sweep_shard.hpp) without MPI: ranks are threads
// (eval/thread_shard.hpp), each with its own session and Sweep. The bit
// split hands every planned bit to exactly one rank for several rank
// counts and selections; a sharded run replays exactly the one-process
// records and summary; a run that finds a killed run's logs (one torn
// mid-line) sweeps only the missing bits and still merges to the same, as
// do runs cut short by max_bits.
#include "eval/sweep_shard.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "eval/thread_shard.hpp"
#include "import/onnx_import.hpp"
#include "inject/sweep_log.hpp"
#include "temp_dir.hpp"

namespace save::eval {
namespace {

namespace fs = std::filesystem;

// out[n, k] = (a + b) * w + c over the trailing 2x3 (tests/inject/sweep_test).
const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/tests/data/two_inputs.onnx";

std::vector<Tensor> batch_inputs() {
  Tensor a(DType::kF32, {3, 2, 3}), b(DType::kF32, {3, 2, 3});
  for (int64_t i = 0; i < a.numel(); ++i) {
    a.ptr<float>()[i] = 0.25f * static_cast<float>(i % 7) - 0.6f;
    b.ptr<float>()[i] = 0.1f * static_cast<float>(i % 5) + 0.05f;
  }
  return {a, b};
}

// Only rank() and size() matter to the split.
class FixedShard : public Shard {
 public:
  FixedShard(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string broadcast(const std::string& text) override { return text; }
  int64_t sum(int64_t v) override { return v; }

 private:
  int rank_, size_;
};

SweepOptions selection(int which) {
  SweepOptions o;
  o.all_weights = true;
  if (which == 1) {
    o.sample = 37;
    o.seed = 4;
  } else if (which == 2) {
    o.tensors = {"w"};
    o.all_weights = false;
    o.elements = {4, 1, 4};  // a repeated element is swept twice, as one process does
    o.bit_positions = parse_bit_positions("23-31");
  }
  return o;
}

// One record as the merge sees it (what the CSV and the summary use).
std::string key(const SweepTensor& t, const BitEffect& e) {
  return sweep_record_line({0, e}) + t.name;
}

TEST(SweepShard, EveryPlannedBitGoesToExactlyOneRank) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  for (int which = 0; which < 3; ++which) {
    Sweep sw(session, in, selection(which));
    const uint64_t planned = sw.planned_bits();
    ASSERT_GT(planned, 20u);
    for (int n : {1, 2, 3, 5, 8}) {
      SCOPED_TRACE(::testing::Message() << "selection " << which << ", " << n << " ranks");
      std::vector<int> owner(planned, -1);
      std::map<uint64_t, int> element_owner;
      for (int r = 0; r < n; ++r) {
        FixedShard shard(r, n);
        // Enumerates without sweeping: the filter records and declines.
        sw.run({}, [&](const BitSlot& slot) {
          EXPECT_LT(slot.ordinal, planned);
          if (rank_sweeps(shard, slot, {})) {
            EXPECT_EQ(owner[slot.ordinal], -1) << "bit #" << slot.ordinal << " twice";
            owner[slot.ordinal] = r;
            auto it = element_owner.emplace(slot.element, r).first;
            EXPECT_EQ(it->second, r) << "element " << slot.element << " split over ranks";
          }
          return false;
        });
      }
      for (uint64_t i = 0; i < planned; ++i) EXPECT_GE(owner[i], 0) << "bit #" << i << " lost";
      // Bits already done go to no rank.
      std::vector<bool> done(planned, true);
      FixedShard first(0, n);
      int64_t taken = 0;
      sw.run({}, [&](const BitSlot& s) { return (taken += rank_sweeps(first, s, done)), false; });
      EXPECT_EQ(taken, 0);
    }
  }
}

struct Outcome {
  std::vector<std::string> records;  // the leader's, in order
  SweepSummary summary;
  int64_t ran = 0, recorded = 0;
};

// `ranks` threads sweep `which` into `out` (a path: logs go to OUT.ranks/).
// max_bits > 0: every rank's outcome must say whether the sweep completed.
Outcome run_ranks(int ranks, int which, const std::string& out, int64_t max_bits = 0,
                  bool* complete = nullptr) {
  Group g(ranks);
  Outcome run;
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        ThreadShard shard(g, r);
        SessionOptions so;
        so.threads = 1;
        Session session(import_onnx_file(kModel), so);
        Sweep sw(session, batch_inputs(), selection(which));
        ShardedSweep spec;
        spec.out = out;
        spec.context = "test" + std::to_string(which);
        spec.max_bits = max_bits;
        std::vector<std::string> mine;
        spec.on_record = [&](const SweepTensor& t, const BitEffect& e) {
          mine.push_back(key(t, e));
        };
        ShardedSweepOutcome o = run_sweep_sharded(sw, shard, spec);
        if (r == 0) run = {mine, o.summary, o.ran, o.recorded};
        if (r == 0 && complete) *complete = o.complete;
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r)
    if (!errors[r].empty()) throw Error("rank " + std::to_string(r) + ": " + errors[r]);
  return run;
}

Outcome one_process(int which) {
  SessionOptions so;
  so.threads = 1;
  Session session(import_onnx_file(kModel), so);
  Sweep sw(session, batch_inputs(), selection(which));
  Outcome run;
  run.summary =
      sw.run([&](const SweepTensor& t, const BitEffect& e) { run.records.push_back(key(t, e)); });
  return run;
}

void expect_same_summary(const SweepSummary& a, const SweepSummary& b) {
  EXPECT_EQ(a.bits, b.bits);
  EXPECT_EQ(a.stopped_early, b.stopped_early);
  EXPECT_EQ(a.skipped_steps, b.skipped_steps);
  for (size_t i = 0; i < a.by_bit.size(); ++i) {
    EXPECT_EQ(a.by_bit[i].swept, b.by_bit[i].swept);
    EXPECT_EQ(a.by_bit[i].top1_changed, b.by_bit[i].top1_changed);
    EXPECT_EQ(a.by_bit[i].nonfinite, b.by_bit[i].nonfinite);
    // Summed in the same order: equal to the last bit, not approximately.
    EXPECT_EQ(a.by_bit[i].sum_abs, b.by_bit[i].sum_abs);
    EXPECT_EQ(a.by_bit[i].max_abs, b.by_bit[i].max_abs);
  }
}

TEST(SweepShard, RanksMergeIntoTheOneProcessRecords) {
  fs::path dir = test::fresh_dir("sweep_shard_merge");
  for (int which = 0; which < 3; ++which) {
    SCOPED_TRACE(::testing::Message() << "selection " << which);
    Outcome one = one_process(which);
    Outcome three = run_ranks(3, which, (dir / ("s" + std::to_string(which) + ".csv")).string());
    EXPECT_EQ(three.records, one.records);
    expect_same_summary(three.summary, one.summary);
    EXPECT_EQ(three.ran, one.summary.bits);
    EXPECT_EQ(three.recorded, 0);
    EXPECT_FALSE(fs::exists(dir / ("s" + std::to_string(which) + ".csv.ranks")));
  }
}

TEST(SweepShard, ResumesWhatAKilledRunLeft) {
  fs::path dir = test::fresh_dir("sweep_shard_resume");
  const std::string out = (dir / "r.csv").string();
  Outcome one = one_process(0);
  // A finished 2-rank run's records, written back as a killed run would
  // have left them: some folded into merged.log, some in rank-1.log whose
  // last line is torn.
  const fs::path ranks = out + ".ranks";
  std::vector<SweepRecord> recs;
  {
    SessionOptions so;
    so.threads = 1;
    Session session(import_onnx_file(kModel), so);
    Sweep sw(session, batch_inputs(), selection(0));
    sw.run([&](const SweepTensor& t, const BitEffect& e) {
      recs.push_back({static_cast<size_t>(&t - sw.tensors().data()), e});
    });
  }
  ASSERT_GT(recs.size(), 30u);
  fs::create_directories(ranks);
  std::map<uint64_t, SweepRecord> merged;
  for (size_t i = 0; i < 10; ++i) merged.emplace(recs[i].effect.ordinal, recs[i]);
  write_sweep_log((ranks / "merged.log").string(), "test0", merged);
  {
    std::ofstream f(ranks / "rank-1.log");
    f << "# save sweep test0\n";
    for (size_t i = 8; i < 20; ++i) f << sweep_record_line(recs[i]);  // 8, 9 also merged
    std::string torn = sweep_record_line(recs[20]);
    f << torn.substr(0, torn.size() / 2);
  }
  Outcome two = run_ranks(2, 0, out);
  EXPECT_EQ(two.recorded, 20);
  EXPECT_EQ(two.ran, static_cast<int64_t>(recs.size()) - 20);
  EXPECT_EQ(two.records, one.records);
  expect_same_summary(two.summary, one.summary);
  EXPECT_FALSE(fs::exists(ranks));
}

TEST(SweepShard, MaxBitsStopsARunAndTheNextGoesOn) {
  fs::path dir = test::fresh_dir("sweep_shard_max_bits");
  const std::string out = (dir / "m.csv").string();
  Outcome one = one_process(0);
  const auto planned = static_cast<int64_t>(one.records.size());
  ASSERT_GT(planned, 30);
  // 2 ranks, 10 bits each run (5 per rank), then 3 ranks to the end.
  int64_t kept = 0;
  for (int run = 0; run < 3; ++run) {
    bool complete = true;
    Outcome part = run_ranks(2, 0, out, 10, &complete);
    EXPECT_FALSE(complete);
    EXPECT_EQ(part.ran, 10);
    EXPECT_EQ(part.recorded, kept);
    EXPECT_TRUE(part.records.empty()) << "an incomplete run replayed records";
    kept += part.ran;
    EXPECT_TRUE(fs::exists(out + ".ranks"));
  }
  bool complete = false;
  Outcome rest = run_ranks(3, 0, out, 0, &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(rest.recorded, kept);
  EXPECT_EQ(rest.ran, planned - kept);
  EXPECT_EQ(rest.records, one.records);
  expect_same_summary(rest.summary, one.summary);
  EXPECT_FALSE(fs::exists(out + ".ranks"));
  // One process alone, through OneProcessShard: the same records.
  const std::string solo = (dir / "solo.csv").string();
  SessionOptions so;
  so.threads = 1;
  Session session(import_onnx_file(kModel), so);
  OneProcessShard shard;
  std::vector<std::string> recs;
  for (int64_t limit : {7, 0}) {
    Sweep sw(session, batch_inputs(), selection(0));
    ShardedSweep spec;
    spec.out = solo;
    spec.context = "test0";
    spec.max_bits = limit;
    spec.on_record = [&](const SweepTensor& t, const BitEffect& e) { recs.push_back(key(t, e)); };
    ShardedSweepOutcome o = run_sweep_sharded(sw, shard, spec);
    EXPECT_EQ(o.complete, limit == 0);
    EXPECT_EQ(o.ran, limit == 0 ? planned - 7 : 7);
  }
  EXPECT_EQ(recs, one.records);
}

TEST(SweepShard, RefusesAnotherSweepsLog) {
  fs::path dir = test::fresh_dir("sweep_shard_foreign");
  const std::string out = (dir / "f.csv").string();
  fs::create_directories(out + ".ranks");
  std::ofstream(out + ".ranks/rank-0.log") << "# save sweep other\n";
  try {
    run_ranks(2, 0, out);
    FAIL() << "merged another sweep's log";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another sweep"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace save::eval
