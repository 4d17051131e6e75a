// `save eval` (src/eval/eval_suite): a tiny evaluation of the bundled CNN
// writes every result file with the numbers its campaigns recorded, resumes
// without re-running, refuses a folder of another model or input set, runs
// rednet from the sibling file, skips or refuses modes that cannot run, and
// the command line gives one clear error for bad input.
#include "eval/eval_suite.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "eval/interleaved_latency.hpp"

namespace save::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kModels = std::string(SAVE_SOURCE_DIR) + "/models";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t count_lines(const fs::path& p) {
  std::string s = read(p);
  return std::count(s.begin(), s.end(), '\n');
}

class EvalSuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("save_eval_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // 24 test images in batches of 8, flips {0, 64}, both scenarios, 1 trial,
  // 4 inputs per OOD set: 2 x 2 + 6 = 10 trials per mode.
  EvalSpec tiny(const std::string& dir, const std::string& model = kModels + "/fmnist-cnn.onnx") {
    EvalSpec s;
    s.model_path = model;
    s.out_dir = (root_ / dir).string();
    s.modes = {"none"};
    s.flips = {0, 64};
    s.limit = 24;
    s.batch = 8;
    s.trials = 1;
    s.ood_samples = 4;
    s.threads = 1;
    s.protect_opts.profile_samples = 32;
    s.protect_opts.log = nullptr;
    s.progress = nullptr;
    return s;
  }

  // A copy of the CNN in the test folder, optionally with a "-rednet"
  // sibling (the CNN again: the point is which file runs, not RedNet).
  std::string copy_model(bool with_rednet) {
    fs::path m = root_ / "m.onnx";
    fs::copy_file(kModels + "/fmnist-cnn.onnx", m);
    if (with_rednet) fs::copy_file(kModels + "/fmnist-cnn.onnx", root_ / "m-rednet.onnx");
    return m.string();
  }

  fs::path root_;
};

const json& mode_of(const json& results, const std::string& mode) {
  for (const json& m : results["modes"])
    if (m["mode"] == mode) return m;
  static const json missing;
  ADD_FAILURE() << "no mode " << mode;
  return missing;
}

const json& point_of(const json& mode, const std::string& scenario, int64_t flips) {
  for (const json& p : mode["points"])
    if (p["scenario"] == scenario && p["flips"] == flips) return p;
  static const json missing;
  ADD_FAILURE() << "no point " << scenario << " " << flips;
  return missing;
}

TEST_F(EvalSuiteTest, WritesEveryFileWithTheCampaignsNumbers) {
  EvalSpec s = tiny("e");
  EvalOutcome o = run_eval(s);
  EXPECT_EQ(o.ran, 10);
  EXPECT_EQ(o.skipped, 0);
  EXPECT_TRUE(o.complete);
  fs::path d = s.out_dir;
  for (const char* f : {"eval.json", "results.json", "results.csv", "report.md",
                        "accuracy_vs_flips_accumulated.svg", "accuracy_vs_flips_streaming.svg",
                        "accurate_latency.svg", "ood_false_alarms.svg",
                        "none/accumulated/trials.jsonl", "none/streaming/summary.json",
                        "none/ood-noise/trials.jsonl", "none/ood-rescaled/report.md"})
    EXPECT_TRUE(fs::is_regular_file(d / f)) << f;

  json r = json::parse(read(d / "results.json"));
  EXPECT_EQ(r, o.results);
  EXPECT_EQ(r["samples"], 24);
  const json& none = mode_of(r, "none");
  ASSERT_EQ(none["status"], "ran");
  ASSERT_EQ(none["points"].size(), 4u);  // 2 scenarios x 2 flip counts
  double clean_latency = 0, clean_ratio = 0;
  for (const json& p : none["points"]) {
    EXPECT_EQ(p["trials"], 1);
    EXPECT_EQ(p["detections"], 0);  // nothing checks
    EXPECT_TRUE(p.contains("latency_ms") && p.contains("accurate_latency_ms"));
    EXPECT_EQ(p["target"], p["scenario"] == "accumulated" ? "weights" : "all");
    // x none: the interleaved ratio (none over none: exactly 1) times the
    // point's AccurateLatency over the campaign's own fault-free latency.
    EXPECT_DOUBLE_EQ(p["accurate_latency_vs_none"].get<double>(),
                     p["accurate_latency_ms"].get<double>() /
                         point_of(none, p["scenario"], 0)["latency_ms"].get<double>());
    if (p["flips"] == 0) {
      // Fault-free: the golden answers.
      EXPECT_EQ(p["sdc_rate"], 0.0);
      EXPECT_EQ(p["accuracy_mean"], none["golden_accuracy"]);
      clean_latency += p["latency_ms"].get<double>();
      clean_ratio += p["accurate_latency_vs_none"].get<double>();
    }
  }
  // Without interleaved timing x none would divide by this mean.
  EXPECT_DOUBLE_EQ(r["none_latency_ms"].get<double>(), clean_latency / 2);
  EXPECT_DOUBLE_EQ(clean_ratio, 2.0);
  // The interleaved timing: every round timed, none's ratio to itself 1.
  const json& lat = r["latency"];
  ASSERT_FALSE(lat.is_null());
  EXPECT_EQ(lat["rounds"], s.latency_rounds);
  EXPECT_EQ(lat["batches"], 3);  // 24 images in batches of 8, fewer than latency_batches
  EXPECT_EQ(lat["modes"]["none"]["round_ms"].size(), static_cast<size_t>(s.latency_rounds));
  EXPECT_EQ(lat["modes"]["none"]["vs_none"]["median"], 1.0);
  EXPECT_EQ(lat["modes"]["none"]["false_alarms"], 0);
  EXPECT_EQ(json::parse(read(d / "latency.json")), lat);
  // The points are the campaign's own summary points.
  json camp = json::parse(read(d / "none/accumulated/summary.json"));
  EXPECT_EQ(camp["series"][0]["points"][1]["sdc_rate"],
            point_of(none, "accumulated", 64)["sdc_rate"]);
  // Unprotected inference on OOD inputs: no alarm, and its own answers.
  ASSERT_EQ(none["ood"].size(), 6u);
  for (const json& x : none["ood"]) {
    EXPECT_EQ(x["samples"], 4);
    EXPECT_EQ(x["false_alarms"], 0);
    EXPECT_EQ(x["wrong_outputs"], 0);
  }
  EXPECT_EQ(count_lines(d / "results.csv"), 1 + 4 + 6);
  std::string md = read(d / "report.md");
  EXPECT_NE(md.find("| none | accumulated | 64 |"), std::string::npos) << md;
  EXPECT_NE(md.find("constant-1"), std::string::npos);
  EXPECT_NE(md.find("accurate_latency.svg"), std::string::npos);
  EXPECT_NE(md.find("## Latency, fault-free, interleaved"), std::string::npos) << md;
  EXPECT_NE(o.table.find("none"), std::string::npos);
  EXPECT_NE(read(d / "ood_false_alarms.svg").find("<rect"), std::string::npos);
}

TEST_F(EvalSuiteTest, ResumesWithoutRerunning) {
  EvalSpec s = tiny("e");
  s.max_new_trials = 3;  // stands for a kill after three trials
  EvalOutcome first = run_eval(s);
  EXPECT_EQ(first.ran, 3);
  EXPECT_FALSE(first.complete);
  s.max_new_trials = -1;
  EvalOutcome second = run_eval(s);
  EXPECT_EQ(second.ran, 7);
  EXPECT_EQ(second.skipped, 3);
  EXPECT_TRUE(second.complete);
  fs::path log = fs::path(s.out_dir) / "none/accumulated/trials.jsonl";
  std::string before = read(log);
  EvalOutcome third = run_eval(s);
  EXPECT_EQ(third.ran, 0);
  EXPECT_EQ(third.skipped, 10);
  EXPECT_EQ(read(log), before);
  // Same records, same results (only the wall time of the eval differs).
  json a = second.results, b = third.results;
  a.erase("seconds"), b.erase("seconds");
  EXPECT_EQ(a, b);
}

TEST_F(EvalSuiteTest, TimesModesInterleavedAndReusesTheTimingOnResume) {
  EvalSpec s = tiny("e");
  s.modes = {"none", "save", "tmr"};
  s.scenarios = {Scenario::kAccumulated};
  s.ood_samples = 0;
  s.latency_rounds = 3;
  EvalOutcome first = run_eval(s);
  const json& lat = first.results["latency"];
  ASSERT_FALSE(lat.is_null());
  EXPECT_EQ(lat["context"]["modes"], json({"none", "save", "tmr"}));
  for (const char* m : {"none", "save", "tmr"}) {
    EXPECT_EQ(lat["modes"][m]["round_ms"].size(), 3u) << m;
    EXPECT_EQ(lat["modes"][m]["false_alarms"], 0) << m;  // fault-free, sound checks
    const json& q = lat["modes"][m]["vs_none"];
    EXPECT_LE(q["q1"].get<double>(), q["median"].get<double>()) << m;
    EXPECT_LE(q["median"].get<double>(), q["q3"].get<double>()) << m;
    EXPECT_EQ(mode_of(first.results, m)["latency_vs_none"], q) << m;
  }
  // A resume with the same modes and settings reuses DIR/latency.json: a
  // ratio written there is what the points are scaled by.
  fs::path f = fs::path(s.out_dir) / "latency.json";
  json stored = json::parse(read(f));
  stored["modes"]["tmr"]["vs_none"]["median"] = 7.0;
  std::ofstream(f) << stored.dump(2);
  EvalOutcome second = run_eval(s);
  EXPECT_EQ(second.ran, 0);
  const json& clean = point_of(mode_of(second.results, "tmr"), "accumulated", 0);
  EXPECT_DOUBLE_EQ(clean["accurate_latency_vs_none"].get<double>(), 7.0);
  // Other settings time again.
  s.latency_rounds = 2;
  EvalOutcome third = run_eval(s);
  EXPECT_EQ(third.results["latency"]["rounds"], 2);
  EXPECT_NE(third.results["latency"]["modes"]["tmr"]["vs_none"]["median"], 7.0);
}

TEST(InterleavedLatency, RotatesTheOrderEveryRound) {
  EXPECT_EQ(rotation(3, 0), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(rotation(3, 1), (std::vector<size_t>{1, 2, 0}));
  EXPECT_EQ(rotation(3, 5), (std::vector<size_t>{2, 0, 1}));
}

TEST(InterleavedLatency, RefusesBadArguments) {
  EXPECT_THROW(measure_interleaved({}, {}, 3), Error);
}

TEST_F(EvalSuiteTest, RefusesAFolderOfAnotherModelOrInputSet) {
  run_eval(tiny("e"));
  try {
    run_eval(tiny("e", kModels + "/fmnist-resnet.onnx"));
    FAIL() << "another model's folder must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  EvalSpec other = tiny("e");
  other.limit = 16;
  EXPECT_THROW(run_eval(other), Error);
  // The same file by another path is the same model: it resumes.
  EvalSpec moved = tiny("e", copy_model(false));
  EXPECT_EQ(run_eval(moved).ran, 0);
  // Nothing was added to the folder by the refused runs.
  EXPECT_EQ(count_lines(root_ / "e/none/accumulated/trials.jsonl"), 2);
}

TEST_F(EvalSuiteTest, RednetRunsTheSiblingModelUnprotected) {
  EvalSpec s = tiny("e", copy_model(true));
  s.modes = {"none", "rednet"};
  s.scenarios = {Scenario::kAccumulated};
  s.ood_samples = 0;
  EvalOutcome o = run_eval(s);
  const json& rednet = mode_of(o.results, "rednet");
  ASSERT_EQ(rednet["status"], "ran");
  EXPECT_EQ(fs::path(rednet["model"].get<std::string>()).filename(), "m-rednet.onnx");
  // The same network under the same flips: the same answers as none.
  const json& none = mode_of(o.results, "none");
  ASSERT_EQ(rednet["points"].size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    for (const char* k : {"flips", "accuracy_mean", "sdc_rate", "bits_flipped_mean", "detections"})
      EXPECT_EQ(rednet["points"][i][k], none["points"][i][k]) << k;
  EXPECT_TRUE(fs::is_regular_file(fs::path(s.out_dir) / "rednet/accumulated/summary.json"));
  EXPECT_FALSE(fs::exists(fs::path(s.out_dir) / "ood_false_alarms.svg"));
}

TEST_F(EvalSuiteTest, ModesThatCannotRunAreSkippedByDefaultAndRefusedByName) {
  EvalSpec s = tiny("named", copy_model(false));
  s.modes = {"none", "rednet"};
  try {
    run_eval(s);
    FAIL() << "a named mode that cannot run must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m-rednet.onnx"), std::string::npos) << e.what();
  }
  // Default modes: every mode that can run does, rednet is skipped with the
  // reason.
  s = tiny("default", s.model_path);
  s.modes.clear();
  s.flips = {0};
  s.scenarios = {Scenario::kAccumulated};
  s.limit = 8;
  s.ood_samples = 1;
  EvalOutcome o = run_eval(s);
  ASSERT_EQ(o.results["modes"].size(), eval_modes().size());
  for (const json& m : o.results["modes"]) {
    if (m["mode"] == "rednet") {
      EXPECT_EQ(m["status"], "skipped");
      EXPECT_NE(m["note"].get<std::string>().find("m-rednet.onnx"), std::string::npos);
    } else {
      EXPECT_EQ(m["status"], "ran") << m.dump();
    }
  }
  EXPECT_NE(read(fs::path(s.out_dir) / "report.md").find("**rednet not run**"), std::string::npos);
}

TEST_F(EvalSuiteTest, BadArgumentsAreErrors) {
  EvalSpec s = tiny("e");
  s.modes = {"none", "sepia"};
  EXPECT_THROW(run_eval(s), Error);
  s.modes = {"none", "none"};
  EXPECT_THROW(run_eval(s), Error);
  s = tiny("e");
  s.trials = 0;
  EXPECT_THROW(run_eval(s), Error);
  s = tiny("e");
  s.flips = {};
  EXPECT_THROW(run_eval(s), Error);
  s = tiny("e");
  s.latency_rounds = 0;
  try {
    run_eval(s);
    ADD_FAILURE() << "0 latency rounds must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--latency-rounds"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(s.out_dir));  // refused before the folder was made
}

// The command line: a small run prints the table; bad input is one error
// line and a non-zero exit.
TEST_F(EvalSuiteTest, CommandLine) {
  fs::path out = root_ / "cli.txt", err = root_ / "cli.err";
  auto run = [&](const std::string& args) {
    std::string cmd =
        std::string(SAVE_CLI) + " eval " + args + " > " + out.string() + " 2> " + err.string();
    return WEXITSTATUS(std::system(cmd.c_str()));
  };
  std::string cnn = kModels + "/fmnist-cnn.onnx", dir = (root_ / "c").string();
  ASSERT_EQ(run(cnn + " --out " + dir +
                " --modes none --limit 16 --trials 1 --ood-samples 2 --threads 1"),
            0)
      << read(err);
  EXPECT_NE(read(out).find("fault-free acc"), std::string::npos) << read(out);
  EXPECT_TRUE(fs::is_regular_file(fs::path(dir) / "report.md"));
  EXPECT_NE(run(cnn + " --out " + dir + " --modes none,sepia"), 0);
  std::string e = read(err);
  EXPECT_EQ(e.rfind("error: unknown mode 'sepia'", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_NE(run(kModels + "/fmnist-vit.onnx --out " + dir + " --modes none --limit 16"), 0);
  EXPECT_NE(read(err).find("another model"), std::string::npos) << read(err);
}

}  // namespace
}  // namespace save::eval
