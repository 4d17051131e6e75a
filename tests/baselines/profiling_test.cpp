// ranger and drdna on the bundled CNN, profiled on 256 images: no
// alarm on the images they were profiled on; a flip that makes an
// activation huge is clamped (ranger) or patched (drdna) so the answers
// stay the fault-free ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/npy.hpp"
#include "fixture.hpp"

namespace save::baselines::test {
namespace {

// Records the largest ReLU output seen (after the protection ran).
// These tests flip and watch the Relu steps themselves: the graph as
// written (fusion would merge each Relu into its conv).
SessionOptions as_written() {
  SessionOptions so;
  so.passes.enabled = false;
  return so;
}

class MaxRelu : public ExecHooks {
 public:
  float max = -INFINITY;
  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    if (std::string_view(st.def->name) == "Relu")
      for (float v : st.out_views[0].values<const float>()) max = std::max(max, v);
    return step + 1;
  }
};

// The profiling set, as a .npy file: the first 256 test images (already
// decoded for the other tests; decoding the 60,000-image train split would
// double the test's time). Which images they are does not matter here:
// the tests check behaviour relative to whatever was profiled.
struct ProfileFile {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("save-baselines-profile-" + std::to_string(::getpid()) + ".npy"))
                         .string();
  ProfileFile() { write_npy(path, images(256)); }
  ~ProfileFile() { std::filesystem::remove(path); }
};

const std::string& profile_npy() {
  static const ProfileFile file;
  return file.path;
}

protect::ProtectionOptions profile_options() {
  protect::ProtectionOptions o = quiet_options(256, 16);
  o.profile_data = profile_npy();
  return o;
}

class Profiled : public ::testing::TestWithParam<const char*> {};

TEST_P(Profiled, NoAlarmOnTheProfilingImages) {
  Session s(import_onnx_file(model_path("cnn")), as_written());
  Tensor train = read_npy(profile_npy());
  std::vector<Tensor> golden = s.run({slice_rows(train, 0, 16)});
  auto p = modes::make_protection(GetParam(), s, profile_options());
  p->prepare(s);
  p->begin_trial(nullptr);
  for (int64_t b = 0; b < 256; b += 16) run_with(s, slice_rows(train, b, b + 16), {p->hooks()});
  EXPECT_EQ(p->end_trial().detections, 0);
  // And the protected run of clean images is the plain one.
  auto out = run_with(s, slice_rows(train, 0, 16), {p->hooks()});
  EXPECT_TRUE(same_outputs(out, golden));
}

TEST_P(Profiled, AHugeActivationIsBoundedAndTheAnswersKept) {
  Session s(import_onnx_file(model_path("cnn")), as_written());
  Tensor x = slice_rows(read_npy(profile_npy()), 0, 16);
  std::vector<int64_t> want = top1(s.run({x})[0]);
  // Unprotected, an exponent flip in a ReLU output is a huge activation.
  Flipper raw("Relu", 40, 30);
  MaxRelu seen_raw;
  run_with(s, x, {&raw, &seen_raw});
  EXPECT_GT(seen_raw.max, 1e30f);

  auto p = modes::make_protection(GetParam(), s, profile_options());
  p->prepare(s);
  p->begin_trial(nullptr);
  Flipper flip("Relu", 40, 30);
  MaxRelu seen;
  auto out = run_with(s, x, {&flip, p->hooks(), &seen});
  protect::ProtectionCounts n = p->end_trial();
  EXPECT_EQ(n.detections, 1);
  EXPECT_EQ(n.recoveries, 1);
  EXPECT_LT(seen.max, 100.f);  // within the profiled range (and its margin)
  EXPECT_EQ(top1(out[0]), want);
}

TEST_P(Profiled, AHugeFusedActivationIsBoundedToo) {
  // Fused (the default): the Relu lives inside the FusedConv step, whose
  // output is the activation the mode profiles and bounds.
  Session s(import_onnx_file(model_path("cnn")));
  Tensor x = slice_rows(read_npy(profile_npy()), 0, 16);
  const auto& steps = s.plan_for({x}).steps();
  ASSERT_TRUE(std::any_of(steps.begin(), steps.end(), [](const PlannedStep& st) {
    return std::string_view(st.def->name) == "FusedConv";
  }));
  std::vector<int64_t> want = top1(s.run({x})[0]);
  auto p = modes::make_protection(GetParam(), s, profile_options());
  p->prepare(s);
  p->begin_trial(nullptr);
  Flipper flip("Conv", 40, 30);  // the first FusedConv's (post-Relu) output
  auto out = run_with(s, x, {&flip, p->hooks()});
  protect::ProtectionCounts n = p->end_trial();
  EXPECT_EQ(flip.flips, 1);
  EXPECT_EQ(n.detections, 1);
  EXPECT_EQ(top1(out[0]), want);
}

INSTANTIATE_TEST_SUITE_P(Modes, Profiled, ::testing::Values("ranger", "drdna"));

}  // namespace
}  // namespace save::baselines::test
