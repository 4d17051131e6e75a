// Sharded campaigns (src/eval/shard.hpp) without MPI: ranks are threads
// sharing an in-process Shard, each with its own session, all writing one
// folder. Checks what the MPI test (tests/dist) checks with real ranks, so
// the sharding logic also runs under ASan/UBSan: the same summary bytes as
// one process, resume after a rank stopped early, the leader's error on
// every rank.
#include "eval/shard.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/hash.hpp"
#include "data/dataset.hpp"
#include "eval/thread_shard.hpp"
#include "import/onnx_import.hpp"

namespace save::eval {
namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

const Dataset& data() {
  static Dataset d = load_dataset("fashion-mnist");
  return d;
}

CampaignSpec spec(const std::string& out) {
  CampaignSpec s;
  s.model_path = kModel;
  s.model_sha256 = file_sha256(kModel);
  s.data = "fashion-mnist";
  s.limit = 96;
  s.batch = 32;
  s.seed = 11;
  s.flips = {0, 32};
  s.trials = 3;
  s.threads = 1;
  s.out_dir = out;
  s.progress = nullptr;
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `ranks` threads on one campaign; max_new[r] limits rank r's trials.
std::vector<CampaignOutcome> run_ranks(const CampaignSpec& base, int ranks,
                                       std::vector<int64_t> max_new = {}) {
  Group g(ranks);
  std::vector<CampaignOutcome> out(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        ThreadShard shard(g, r);
        SessionOptions so;
        so.threads = 1;
        Session session(import_onnx_file(kModel), so);
        CampaignSpec s = base;
        if (r < static_cast<int>(max_new.size())) s.max_new_trials = max_new[r];
        out[r] = run_campaign_sharded(s, session, data(), shard);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r)
    if (!errors[r].empty()) throw Error("rank " + std::to_string(r) + ": " + errors[r]);
  return out;
}

int count_lines(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  int n = 0;
  while (std::getline(f, line)) n += !line.empty();
  return n;
}

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("save-shard-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string one_process_summary() {
    SessionOptions so;
    so.threads = 1;
    Session session(import_onnx_file(kModel), so);
    CampaignOutcome o = run_campaign(spec((dir_ / "one").string()), session, data());
    EXPECT_TRUE(o.complete);
    return slurp(dir_ / "one" / "summary.json");
  }
  fs::path dir_;
};

TEST_F(ShardTest, ThreeRanksWriteTheOneProcessSummary) {
  std::string want = one_process_summary();
  auto out = run_ranks(spec((dir_ / "three").string()), 3);
  EXPECT_EQ(out[0].ran, 6);  // the leader counts every rank's trials
  EXPECT_TRUE(out[0].complete);
  EXPECT_EQ(out[1].ran, 2);  // 6 trials: 2 per rank
  EXPECT_EQ(slurp(dir_ / "three" / "summary.json"), want);
  EXPECT_EQ(count_lines(dir_ / "three" / "trials.jsonl"), 6);
  EXPECT_FALSE(fs::exists(dir_ / "three" / "ranks"));
}

TEST_F(ShardTest, ARankThatStoppedIsResumed) {
  std::string want = one_process_summary();
  std::string d = (dir_ / "two").string();
  // Rank 1 stops after one of its three trials (stands for a kill).
  auto first = run_ranks(spec(d), 2, {-1, 1});
  EXPECT_EQ(first[0].ran, 4);
  EXPECT_FALSE(first[0].complete);
  EXPECT_NE(slurp(fs::path(d) / "summary.json"), want);
  // Re-run with another rank count: only the 2 missing trials run.
  auto second = run_ranks(spec(d), 3);
  EXPECT_EQ(second[0].ran, 2);
  EXPECT_EQ(second[0].skipped, 4);
  EXPECT_TRUE(second[0].complete);
  EXPECT_EQ(slurp(fs::path(d) / "summary.json"), want);
  EXPECT_EQ(count_lines(fs::path(d) / "trials.jsonl"), 6);
}

TEST_F(ShardTest, TheLeadersErrorReachesEveryRank) {
  CampaignSpec s = spec((dir_ / "bad").string());
  s.protect = "no-such-mode";
  Group g(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      ThreadShard shard(g, r);
      Session session(import_onnx_file(kModel));
      try {
        run_campaign_sharded(s, session, data(), shard);
      } catch (const CollectiveError& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_NE(errors[0].find("no-such-mode"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[0], errors[1]);
}

}  // namespace
}  // namespace save::eval
