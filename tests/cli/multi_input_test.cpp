// End to end on a model with two inputs and dynamic spatial dims
// (tests/data/multi_input, tools/make_multi_input.py), through the real
// `save` binary with inputs given as .npy files and folders: save analyze
// at a stated shape, save inject (protected and not) and save eval --quick
// with every mode. Asserts what they wrote: trials run, per-output metrics,
// 0 false alarms fault-free under --protect save, a plan made for another
// shape refused; and that a bad input is one error with nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const std::string kCli = SAVE_CLI;
const std::string kDir = std::string(SAVE_SOURCE_DIR) + "/tests/data/multi_input/";
const std::string kModel = kDir + "model.onnx";
const std::string kInputs =
    " --input image=" + kDir + "image_folder --input vec=" + kDir + "vec.npy";

struct Result {
  int code = -1;
  std::string out, err;
};

fs::path scratch() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("save_multi_input_" + std::to_string(getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Result run(const std::string& args) {
  static int n = 0;
  const fs::path out = scratch() / ("stdout_" + std::to_string(n));
  const fs::path err = scratch() / ("stderr_" + std::to_string(n++));
  const std::string cmd =
      "OMP_NUM_THREADS=1 " + kCli + " " + args + " > " + out.string() + " 2> " + err.string();
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

json summary_of(const fs::path& dir) {
  return json::parse(slurp(dir / "summary.json"));
}

const json& point(const json& summary, int64_t flips) {
  for (const json& p : summary.at("series").at(0).at("points"))
    if (p.at("flips") == flips) return p;
  throw std::runtime_error("no point at " + std::to_string(flips) + " flips");
}

TEST(MultiInput, AnalyzeAtAStatedShapeAndFromTheData) {
  const fs::path plan16 = scratch() / "plan16.json";
  Result r =
      run("analyze " + kModel + " --input-shape image=1x3x16x16 --json -o " + plan16.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json a = json::parse(r.out);
  bool saw_image = false;
  for (const json& in : a.at("inputs"))
    if (in.at("name") == "image") {
      saw_image = true;
      EXPECT_EQ(in.at("shape"), json({1, 3, 16, 16}));
    }
  EXPECT_TRUE(saw_image) << r.out;
  EXPECT_TRUE(fs::is_regular_file(plan16));
  // The GRU keeps samples apart (analysed once for any batch), and its
  // hidden state is tanh-bounded.
  EXPECT_EQ(a.at("any_batch"), true);
  bool saw_gru = false;
  for (const json& v : a.at("values"))
    if (v.at("name") == "/gru/GRU_output_1") {
      saw_gru = true;
      EXPECT_GE(v.at("interval").at(0).get<double>(), -1.001) << v.dump();
      EXPECT_LE(v.at("interval").at(1).get<double>(), 1.001) << v.dump();
    }
  EXPECT_TRUE(saw_gru) << r.out;
  // No shape stated, no data: the unknown H, W planned as 1 cannot be
  // pooled; the error says which input needs its shape.
  r = run("analyze " + kModel);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--input-shape image="), std::string::npos) << r.err;
  // From the data: one sample of the files (10x10).
  r = run("analyze " + kModel + kInputs + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json report = json::parse(r.out);  // named: the loop must not outlive it
  for (const json& in : report.at("inputs"))
    if (in.at("name") == "image") {
      EXPECT_EQ(in.at("shape"), json({1, 3, 10, 10}));
    }
}

TEST(MultiInput, InjectScoresEveryOutputAndSaveRaisesNoFalseAlarm) {
  // Unprotected: flips do damage, per output.
  const fs::path none = scratch() / "inject_none";
  Result r = run("inject " + kModel + kInputs + " --labels " + kDir +
                 "labels.npy --flips 0,256 --trials 2 --seed 3 --out " + none.string());
  ASSERT_EQ(r.code, 0) << r.err;
  json s = summary_of(none);
  EXPECT_EQ(s.at("samples"), 4);
  EXPECT_EQ(s.at("sdc_metrics"), json({{"logits", "top1"}, {"score", "rel-linf:0.001"}}));
  EXPECT_EQ(s.at("golden_accuracy"), 1.0);  // the labels are PyTorch's answers
  EXPECT_EQ(point(s, 0).at("trials"), 2);
  EXPECT_EQ(point(s, 0).at("sdc_rate"), 0.0);
  EXPECT_EQ(point(s, 0).at("sdc_rate_by_output").at("score"), 0.0);
  EXPECT_GT(point(s, 256).at("sdc_rate").get<double>(), 0.0);
  EXPECT_NE(slurp(none / "report.md").find("SDC rate by output"), std::string::npos);

  // Protected by save, analysed on the fly at the shapes that run.
  const fs::path prot = scratch() / "inject_save";
  r = run("inject " + kModel + kInputs + " --input-shape image=1x3x10x10 --protect save " +
          "--flips 0,64 --trials 3 --out " + prot.string());
  ASSERT_EQ(r.code, 0) << r.err;
  s = summary_of(prot);
  EXPECT_EQ(point(s, 0).at("trials"), 3);
  EXPECT_EQ(point(s, 0).at("false_alarms"), 0);
  EXPECT_EQ(point(s, 0).at("detections"), 0);
  EXPECT_EQ(point(s, 0).at("sdc_rate"), 0.0);
  EXPECT_EQ(point(s, 64).at("false_alarms"), 0);

  // A plan made at 16x16 is refused at 10x10; one made at 10x10 is used.
  const fs::path plan16 = scratch() / "plan16b.json", plan10 = scratch() / "plan10.json";
  ASSERT_EQ(run("analyze " + kModel + " --input-shape image=1x3x16x16 -o " + plan16.string()).code,
            0);
  const fs::path refused = scratch() / "inject_refused";
  r = run("inject " + kModel + kInputs + " --protect save --plan " + plan16.string() +
          " --flips 0 --trials 1 --out " + refused.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not made for this input shape"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(refused / "trials.jsonl"));
  ASSERT_EQ(run("analyze " + kModel + kInputs + " -o " + plan10.string()).code, 0);
  const fs::path planned = scratch() / "inject_planned";
  r = run("inject " + kModel + kInputs + " --protect save --plan " + plan10.string() +
          " --flips 0 --trials 2 --out " + planned.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(point(summary_of(planned), 0).at("false_alarms"), 0);
}

TEST(MultiInput, SdcMetricCanBeOverridden) {
  const fs::path dir = scratch() / "inject_metric";
  Result r = run("inject " + kModel + kInputs +
                 " --sdc-metric rel-linf:0.5 --sdc-metric logits=top1 --flips 0 --trials 1 "
                 "--out " +
                 dir.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(summary_of(dir).at("sdc_metrics"),
            json({{"logits", "top1"}, {"score", "rel-linf:0.5"}}));
  const fs::path bad = scratch() / "inject_metric_bad";
  r = run("inject " + kModel + kInputs + " --sdc-metric feat=top1 --flips 0 --trials 1 --out " +
          bad.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no output named 'feat'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(bad));
}

TEST(MultiInput, EvalQuickRunsEveryMode) {
  const fs::path dir = scratch() / "eval";
  Result r = run("eval " + kModel + kInputs + " --quick --out " + dir.string() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json res = json::parse(slurp(dir / "results.json"));
  int ran = 0;
  for (const json& m : res.at("modes")) {
    const std::string mode = m.at("mode");
    if (mode == "rednet") continue;  // needs a retrained model next to this one
    EXPECT_FALSE(m.contains("note") && !m.at("note").is_null()) << mode << ": " << m.dump();
    ASSERT_FALSE(m.at("points").empty()) << mode;
    ++ran;
    for (const json& p : m.at("points")) {
      EXPECT_GE(p.at("trials").get<int>(), 1) << mode;
      EXPECT_TRUE(p.contains("sdc_rate_by_output")) << mode;
      if (p.at("flips") == 0) {
        EXPECT_EQ(p.at("false_alarms"), 0) << mode;
      }
    }
    if (mode == "save")
      for (const json& p : m.at("points"))
        if (p.at("flips") == 0) {
          EXPECT_EQ(p.at("sdc_rate"), 0.0);
        }
  }
  EXPECT_EQ(ran, 8);  // none, save, dmr, tmr, ecc, ranger, drdna, abft
}

TEST(MultiInput, BadInputsAreOneErrorAndWriteNothing) {
  struct Case {
    std::string args, want;
  };
  const std::string image = " --input image=" + kDir + "image.npy";
  const std::vector<Case> cases = {
      {image, "input 'vec' of the model ([N, 5]) is not given"},
      {image + " --input vec=" + kDir + "vec.npy --input veck=" + kDir + "vec.npy",
       "no input named 'veck'"},
      {image + " --input vec=" + kDir + "image.npy", "input 'vec' is [N, 5] (rank 2)"},
      {kInputs + " --input-shape image=1x4x10x10", "fixes dim 1 at 3"},
      {" --data " + kDir + "image.npy", "single-input model"},
  };
  for (const Case& c : cases) {
    const fs::path out = scratch() / "never_written";
    Result r = run("inject " + kModel + c.args + " --flips 0 --trials 1 --out " + out.string());
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
}

}  // namespace
