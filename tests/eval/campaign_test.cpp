// Campaigns (src/eval): golden agreement at 0 flips, damage with many flips,
// byte-identical summaries, resume after a kill, refusal to mix campaigns.
// The model is a small MLP built in memory, so these tests need no fixture
// file and no bundled model.
#include "eval/campaign.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "eval/trial.hpp"
#include "graph_builder.hpp"
#include "inject/rng.hpp"

namespace save::eval {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kIn = 8, kHidden = 16, kClasses = 4, kSamples = 200;

using test::add_constant;
using test::add_value;
using test::random_tensor;

void add_node(Graph& g, const std::string& op, std::vector<ValueId> in, ValueId out) {
  Node n;
  n.name = op + "_" + std::to_string(g.nodes.size());
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  g.nodes.push_back(std::move(n));
}

// x[batch, 8] -> MatMul -> Relu -> MatMul -> Add -> y[batch, 4].
Graph mlp() {
  Rng rng(42);
  Graph g;
  g.opset = 13;
  ValueId x = add_value(g, "x", {{-1, "batch"}, {kIn, ""}});
  g.values[x].is_graph_input = true;
  g.inputs = {x};
  ValueId w1 = add_constant(g, "w1", random_tensor({kIn, kHidden}, rng, -1, 1));
  ValueId w2 = add_constant(g, "w2", random_tensor({kHidden, kClasses}, rng, -1, 1));
  ValueId b = add_constant(g, "b", random_tensor({kClasses}, rng, -0.1f, 0.1f));
  ValueId h = add_value(g, "h", {{-1, "batch"}, {kHidden, ""}});
  ValueId r = add_value(g, "r", {{-1, "batch"}, {kHidden, ""}});
  ValueId m = add_value(g, "m", {{-1, "batch"}, {kClasses, ""}});
  ValueId y = add_value(g, "y", {{-1, "batch"}, {kClasses, ""}});
  add_node(g, "MatMul", {x, w1}, h);
  add_node(g, "Relu", {h}, r);
  add_node(g, "MatMul", {r, w2}, m);
  add_node(g, "Add", {m, b}, y);
  g.values[y].is_graph_output = true;
  g.outputs = {y};
  g.link();
  return g;
}

// Random inputs labelled with the clean model's answer, except every fifth
// sample, which gets a wrong label: fault-free accuracy is exactly 0.8.
Dataset dataset() {
  Rng rng(7);
  Dataset d;
  d.images = random_tensor({kSamples, kIn}, rng, 0, 1);
  d.source = "inline";
  Session s(mlp());
  Tensor out = s.run({d.images})[0];
  for (int64_t i = 0; i < kSamples; ++i) {
    const float* row = out.ptr<float>() + i * kClasses;
    int64_t best = std::max_element(row, row + kClasses) - row;
    d.labels.push_back(i % 5 == 0 ? (best + 1) % kClasses : best);
  }
  return d;
}

class CampaignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("save_campaign_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  CampaignSpec spec(const std::string& dir) const {
    CampaignSpec s;
    s.model_path = "mlp";
    s.model_sha256 = "test-mlp";
    s.data = "inline";
    s.batch = 32;  // 200 samples: 6 full batches and one of 8
    s.seed = 7;
    s.flips = {0, 1, 64, 4096};
    s.trials = 3;
    s.out_dir = (root_ / dir).string();
    s.progress = nullptr;
    return s;
  }

  CampaignOutcome run(const CampaignSpec& s) {
    // One thread: the model is tiny and OpenMP barriers dominate on a busy
    // machine.
    SessionOptions so;
    so.threads = 1;
    Session session(mlp(), so);
    return run_campaign(s, session, data_);
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::vector<std::string> lines(const fs::path& p) {
    std::vector<std::string> out;
    std::stringstream ss(read(p));
    for (std::string l; std::getline(ss, l);) out.push_back(l);
    return out;
  }

  static const nlohmann::json& point(const nlohmann::json& summary, int64_t flips) {
    for (const auto& p : summary["series"][0]["points"])
      if (p["flips"] == flips) return p;
    throw std::runtime_error("no point");
  }

  fs::path root_;
  Dataset data_ = dataset();
};

TEST_F(CampaignTest, ZeroFlipsAgreeWithGolden) {
  CampaignSpec s = spec("zero");
  s.flips = {0};
  CampaignOutcome r = run(s);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.ran, 3);
  EXPECT_DOUBLE_EQ(r.summary["golden_accuracy"].get<double>(), 0.8);
  const auto& p = point(r.summary, 0);
  EXPECT_EQ(p["sdc_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(p["accuracy_mean"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(p["accuracy_min"].get<double>(), 0.8);
  EXPECT_EQ(p["nan_inf"], 0);
  EXPECT_EQ(p["false_alarms"], 0);
  EXPECT_EQ(p["bits_flipped_mean"].get<double>(), 0.0);
  // The golden run is cached in the folder.
  bool golden = false;
  for (const auto& e : fs::directory_iterator(s.out_dir))
    golden |= e.path().filename().string().rfind("golden-", 0) == 0;
  EXPECT_TRUE(golden);
}

TEST_F(CampaignTest, ManyFlipsHurtAndAreCounted) {
  for (const char* scenario : {"accumulated", "streaming"}) {
    CampaignSpec s = spec(scenario);
    s.fault.scenario = parse_scenario(scenario);
    s.fault.target = Target::kAll;
    CampaignOutcome r = run(s);
    const auto& clean = point(r.summary, 0);
    const auto& many = point(r.summary, 4096);
    EXPECT_GT(many["sdc_rate"].get<double>(), 0.05) << scenario;
    EXPECT_LT(many["accuracy_mean"].get<double>(), clean["accuracy_mean"].get<double>())
        << scenario;
    EXPECT_EQ(point(r.summary, 1)["bits_flipped_mean"].get<double>(), 1.0) << scenario;
    EXPECT_EQ(many["bits_flipped_mean"].get<double>(), 4096.0) << scenario;
    // Timings live in timings.json and the merged --json view only.
    EXPECT_FALSE(many.contains("latency_ms"));
    const auto& series = r.combined["series"][0];
    EXPECT_TRUE(series["points"][0].contains("accurate_latency_ms"));
    EXPECT_EQ(series["scenario"], scenario);
  }
}

TEST_F(CampaignTest, SameSeedGivesByteIdenticalSummary) {
  run(spec("a"));
  run(spec("b"));
  std::string a = read(root_ / "a" / "summary.json");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, read(root_ / "b" / "summary.json"));
  EXPECT_EQ(read(root_ / "a" / "accuracy_vs_flips.svg"),
            read(root_ / "b" / "accuracy_vs_flips.svg"));
  CampaignSpec other = spec("c");
  other.seed = 8;
  run(other);
  std::string c = read(root_ / "c" / "summary.json");
  nlohmann::json ja = nlohmann::json::parse(a), jc = nlohmann::json::parse(c);
  EXPECT_NE(ja["series"], jc["series"]) << "another seed should draw other flips";
}

TEST_F(CampaignTest, ResumesAfterKillWithoutRepeatingOrLosingTrials) {
  run(spec("full"));
  const std::string want = read(root_ / "full" / "summary.json");
  const size_t total = 4 * 3;

  // A run stopped after 5 trials, then resumed.
  CampaignSpec s = spec("stopped");
  s.max_new_trials = 5;
  CampaignOutcome first = run(s);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.ran, 5);
  s.max_new_trials = -1;
  CampaignOutcome second = run(s);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.ran, static_cast<int64_t>(total) - 5);
  EXPECT_EQ(second.skipped, 5);
  EXPECT_EQ(read(root_ / "stopped" / "summary.json"), want);

  // A kill inside an append: keep 7 lines and half of the 8th.
  fs::path log = root_ / "torn" / "trials.jsonl";
  run(spec("torn"));
  std::vector<std::string> all = lines(log);
  ASSERT_EQ(all.size(), total);
  {
    std::ofstream out(log, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 7; ++i) out << all[static_cast<size_t>(i)] << "\n";
    out << all[7].substr(0, all[7].size() / 2);
  }
  CampaignOutcome resumed = run(spec("torn"));
  EXPECT_EQ(resumed.ran, static_cast<int64_t>(total) - 7);
  std::vector<std::string> after = lines(log);
  ASSERT_EQ(after.size(), total);
  std::set<std::string> keys;
  for (const std::string& l : after) {
    TrialResult t = TrialResult::from_json(nlohmann::json::parse(l));
    EXPECT_TRUE(keys.insert(t.key()).second) << "duplicate " << t.key();
  }
  EXPECT_EQ(read(root_ / "torn" / "summary.json"), want);

  // Re-running a complete campaign runs nothing.
  CampaignOutcome again = run(spec("torn"));
  EXPECT_EQ(again.ran, 0);
  EXPECT_EQ(lines(log).size(), total);
}

TEST_F(CampaignTest, RefusesToMixCampaigns) {
  run(spec("x"));
  CampaignSpec s = spec("x");
  s.seed = 99;
  try {
    run(s);
    FAIL() << "a different seed in the same folder must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
  s = spec("x");
  s.limit = 100;
  EXPECT_THROW(run(s), Error);
}

TEST_F(CampaignTest, SeriesShareAFolder) {
  CampaignSpec s = spec("shared");
  s.flips = {0, 16};
  s.trials = 2;
  run(s);
  s.fault.scenario = Scenario::kStreaming;
  CampaignOutcome r = run(s);
  ASSERT_EQ(r.summary["series"].size(), 2u);
  EXPECT_EQ(r.summary["series"][0]["scenario"], "accumulated");
  EXPECT_EQ(r.summary["series"][1]["scenario"], "streaming");
  std::string md = read(root_ / "shared" / "report.md");
  EXPECT_NE(md.find("| none | random | streaming | weights | 16 | 2 |"), std::string::npos) << md;
  std::string csv = read(root_ / "shared" / "summary.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
}

TEST_F(CampaignTest, UnknownModesAndImpossibleScenariosAreRefused) {
  CampaignSpec s = spec("p");
  s.protect = "bogus";
  try {
    run(s);
    FAIL();
  } catch (const Error& e) {
    // The message names the modes that exist.
    EXPECT_NE(std::string(e.what()).find("save"), std::string::npos) << e.what();
  }
  s.protect = "none";
  s.fault.target = Target::kActivations;  // accumulated flips only hit weights
  EXPECT_THROW(run(s), Error);
}

// The command end to end on the bundled CNN, when it has been trained.
TEST_F(CampaignTest, CommandOnBundledCnn) {
  std::string model = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";
  if (!fs::exists(model) || !fs::exists("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "models/fmnist-cnn.onnx or the dataset is absent";
  fs::path out = root_ / "cli";
  std::string cmd = fmt::format(
      "{} inject {} --data fashion-mnist --limit 256 --flips 0,16 --trials 2 --seed 3 --out {} "
      "--json > {} 2> {}",
      SAVE_CLI, model, out.string(), (root_ / "stdout").string(), (root_ / "stderr").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read(root_ / "stderr");
  nlohmann::json j = nlohmann::json::parse(read(root_ / "stdout"));
  EXPECT_EQ(j["samples"], 256);
  EXPECT_EQ(j["series"][0]["points"][0]["sdc_rate"].get<double>(), 0.0);
  EXPECT_TRUE(j["series"][0]["points"][0].contains("latency_ms"));
  for (const char* f : {"summary.json", "summary.csv", "report.md", "accuracy_vs_flips.svg",
                        "trials.jsonl", "timings.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  // Not a terminal: one plain line per trial.
  EXPECT_NE(read(root_ / "stderr").find("trial 4/4"), std::string::npos);
}

}  // namespace
}  // namespace save::eval
