// Whole-model soundness gate of the range analysis (issue 4, part 3): for
// each bundled model, every intermediate value of every run lies inside the
// per-element interval the analysis gave it, over
//  - all 10,000 Fashion-MNIST test images,
//  - 10,000 uniform-noise images in [0, 1] (seed 4),
//  - the 10,000 test images inverted (1 - x): bright backgrounds, which a
//    profiler trained on the test distribution never sees,
//  - the constant images 0 and 1 (the corners of the input box).
// Runs are batched (kBatch): the batch-N kernels round differently from
// batch 1, and the bounds (computed at batch 1, per element) are applied
// to each row. Also prints, per model, the worst interval blow-up: the
// widest bound relative to the range observed on the test set.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <span>

#include "analysis/bounds_gate.hpp"
#include "analysis/range_analysis.hpp"
#include "data/dataset.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"

namespace save {
namespace {

constexpr int64_t kBatch = 100;

class RangeSoundness : public ::testing::TestWithParam<std::string> {};

TEST_P(RangeSoundness, EveryValueOfEveryRunInsideItsInterval) {
  // "<model>" or "<model>_symbolic" (save analyze --symbolic).
  std::string param = GetParam();
  RangeOptions opts;
  if (const size_t p = param.find("_symbolic"); p != std::string::npos) {
    opts.symbolic.enabled = true;
    param.resize(p);
  }
  const std::string name = "fmnist-" + param;
  const auto t0 = std::chrono::steady_clock::now();
  Session session(import_onnx_file(std::string(SAVE_SOURCE_DIR) + "/models/" + name + ".onnx"));
  const RangeAnalysis ra = analyze_ranges(session, opts);
  EXPECT_EQ(ra.symbolic.on, opts.symbolic.enabled) << ra.symbolic.off_reason;
  EXPECT_EQ(ra.symbolic.disjoint_elements, 0);
  const Graph& g = session.graph();
  const Dataset ds = load_dataset("fashion-mnist");
  ASSERT_EQ(ds.size(), 10000);
  ASSERT_EQ(ds.images.shape(), (Shape{10000, 1, 28, 28}));

  test::BoundsGate gate(ra);
  session.set_hooks(&gate);
  auto run = [&](const Tensor& x) {
    gate.batch = x.shape()[0];
    session.run({x});
  };
  int64_t images = 0;
  // The test set (observed ranges for the blow-up come from it alone).
  gate.observe = true;
  for (int64_t b = 0; b < ds.size(); b += kBatch, images += kBatch)
    run(slice_rows(ds.images, b, b + kBatch));
  gate.observe = false;
  // Inverted test images.
  for (int64_t b = 0; b < ds.size(); b += kBatch, images += kBatch) {
    Tensor x = slice_rows(ds.images, b, b + kBatch);
    float* p = x.ptr<float>();
    for (int64_t e = 0; e < x.numel(); ++e) p[e] = 1.f - p[e];
    run(x);
  }
  // Uniform noise in [0, 1].
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int64_t b = 0; b < 10000; b += kBatch, images += kBatch) {
    Tensor x(DType::kF32, {kBatch, 1, 28, 28});
    for (int64_t e = 0; e < x.numel(); ++e) x.ptr<float>()[e] = u(rng);
    run(x);
  }
  // The corners of the box, alone and batched.
  for (float c : {0.f, 1.f}) {
    run(test::filled_f32({1, 1, 28, 28}, c));
    run(test::filled_f32({kBatch, 1, 28, 28}, c));
    images += 1 + kBatch;
  }
  session.set_hooks(nullptr);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Blow-up per value: width of its bound over the range the test set spans.
  double worst = 0, sum_log = 0;
  int64_t counted = 0, unbounded = 0;
  std::string worst_name;
  for (ValueId v = 0; v < ra.bounds.size(); ++v) {
    const ValueSummary& s = ra.summary[v];
    if (!s.present || s.constant || !(gate.seen_hi(v) >= gate.seen_lo(v))) continue;
    if (!s.bounded) {
      ++unbounded;
      continue;
    }
    const double ratio = (s.max_hi - s.min_lo) / std::max(gate.seen_hi(v) - gate.seen_lo(v), 1e-12);
    sum_log += std::log(std::max(ratio, 1e-12));
    ++counted;
    if (ratio > worst) {
      worst = ratio;
      worst_name = g.values[v].name;
    }
  }
  std::printf(
      "%s: analysis %.3f s; %lld images, %lld elements checked, %lld outside; %lld values "
      "bounded, %lld unbounded; blow-up (interval width / test-set range): worst %.3g (%s), "
      "geometric mean %.3g; %.1f s\n",
      name.c_str(), ra.seconds, static_cast<long long>(images),
      static_cast<long long>(gate.checked), static_cast<long long>(gate.violations),
      static_cast<long long>(counted), static_cast<long long>(unbounded), worst, worst_name.c_str(),
      counted ? std::exp(sum_log / static_cast<double>(counted)) : 0.0, secs);
  RecordProperty("worst_blowup", fmt::format("{:.3g}", worst));
  EXPECT_EQ(gate.violations, 0) << gate.first_violation;
  // Every value must be checked: a value whose batched layout the gate
  // cannot map would escape the gate silently.
  EXPECT_TRUE(gate.unmapped.empty()) << "unmapped: " << gate.unmapped.front();
  // At least the 10 activations of fmnist-cnn after fusion (its smallest).
  EXPECT_GE(counted, 10);
  EXPECT_GT(gate.checked, images * 28 * 28);
}

// The symbolic pass on the ResNet: fused Conv + Add + Relu, 21 deep.
INSTANTIATE_TEST_SUITE_P(Fmnist, RangeSoundness,
                         ::testing::Values("cnn", "resnet", "vit", "resnet_symbolic"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace save
