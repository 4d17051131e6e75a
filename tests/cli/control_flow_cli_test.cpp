// `save run` and `save analyze` through the real command line on a model
// with an If whose condition is computed from the input
// (tests/data/control_flow/if_model.onnx, written by tools/make_if_model.py):
// the run takes the branch the data selects, and the analysis, which cannot
// know the condition, bounds the output by the hull of both branches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "data/npy.hpp"

namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(SAVE_SOURCE_DIR) + "/tests/data/control_flow/";

std::string run(const std::string& args) {
  std::string cmd = std::string(SAVE_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd << "\n" << out;
  return out;
}

TEST(ControlFlowCli, RunTakesTheBranchTheDataSelects) {
  const fs::path out = fs::temp_directory_path() / ("save_if_run_" + std::to_string(getpid()));
  fs::remove_all(out);
  run("run " + kDir + "if_model.onnx --input x=" + kDir + "x.npy --output " + out.string() +
      " --repeat 1 --warmup 0");
  save::Tensor x = save::read_npy(kDir + "x.npy");
  save::Tensor y = save::read_npy((out / "y.npy").string());
  ASSERT_EQ(y.shape(), x.shape());
  // sum(x) = 2.6 > 2: the then branch, y = x * 3.
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_FLOAT_EQ(y.ptr<float>()[i], 3 * x.ptr<float>()[i]);
  fs::remove_all(out);
}

TEST(ControlFlowCli, AnalyzeBoundsTheOutputByBothBranches) {
  const nlohmann::json j =
      nlohmann::json::parse(run("analyze " + kDir + "if_model.onnx --input-range x=0:1 --json"));
  bool found = false;
  for (const auto& v : j["values"]) {
    if (v["name"] != "y") continue;
    found = true;
    ASSERT_TRUE(v["interval"].is_array()) << v.dump();
    const double lo = v["interval"][0], hi = v["interval"][1];
    // else: -x in [-1, 0]; then: 3x in [0, 3]. The hull, not wider than
    // the rounding allowance.
    EXPECT_LE(lo, -1.0);
    EXPECT_GE(hi, 3.0);
    EXPECT_GT(lo, -1.01);
    EXPECT_LT(hi, 3.01);
  }
  EXPECT_TRUE(found);
}

}  // namespace
