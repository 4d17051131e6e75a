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

#include "analysis/range_analysis.hpp"
#include "data/dataset.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"

namespace save {
namespace {

constexpr int64_t kBatch = 100;

// How an element of a batch-N value maps to its batch-1 bound: the batch-N
// shape equals the batch-1 shape except along one axis k, which holds N
// times the batch-1 extent (a batch axis, or the batch merged into an
// outer axis, e.g. [N*T, D] from [T, D]). Elements are then (outer, n,
// inner) with the batch-1 element outer * block + inner.
struct RowMap {
  bool ok = false;
  int64_t outer = 1, block = 1;  // block: batch-1 elements at and after axis k
};

RowMap row_map(const Shape& s1, std::span<const int64_t> sn, int64_t n) {
  RowMap m;
  if (s1.size() != sn.size()) return m;
  if (std::equal(s1.begin(), s1.end(), sn.begin())) {  // not batched (n == 1 or shared)
    m.ok = true;
    m.outer = 1;
    m.block = shape_numel(s1);
    return m;
  }
  for (size_t k = 0; k < s1.size(); ++k) {
    if (sn[k] != s1[k] * n) continue;
    bool rest = true;
    for (size_t j = 0; j < s1.size(); ++j) rest &= j == k || sn[j] == s1[j];
    if (!rest) continue;
    // A merged axis is taken batch-major (what Reshape of [N, T, ...]
    // gives); a wrong guess would show up as violations, not hide them.
    m.outer = 1;
    for (size_t j = 0; j < k; ++j) m.outer *= s1[j];
    m.block = 1;
    for (size_t j = k; j < s1.size(); ++j) m.block *= s1[j];
    m.ok = true;
    return m;
  }
  return m;
}

// Checks every step output (and the inputs) against its batch-1 bound and,
// while `observe` is set, records the observed min / max per value.
class BoundsGate : public ExecHooks {
 public:
  explicit BoundsGate(const RangeAnalysis& ra)
      : ra_(ra), seen_lo_(ra.bounds.size(), INFINITY), seen_hi_(ra.bounds.size(), -INFINITY) {}

  bool observe = false;
  int64_t batch = 1;
  int64_t checked = 0, violations = 0;
  std::vector<std::string> unmapped;  // values whose batch-N layout has no row map
  std::string first_violation;

  void on_run_begin(Execution& ex) override {
    for (ValueId v : ex.plan().graph().inputs) check(ex, v);
  }
  size_t after_step(Execution& ex, size_t step) override {
    for (ValueId v : ex.plan().steps()[step].outputs)
      if (v != kNoId) check(ex, v);
    return step + 1;
  }
  double seen_lo(ValueId v) const { return seen_lo_[v]; }
  double seen_hi(ValueId v) const { return seen_hi_[v]; }

 private:
  void check(Execution& ex, ValueId v) {
    const Bounds& b = ra_.bounds[v];
    if (!b.known || b.lo.dtype() != DType::kF32) return;
    const TensorView t = ex.value(v);
    if (t.dtype != DType::kF32 || t.data == nullptr) return;
    const RowMap m = row_map(b.lo.shape(), t.shape, batch);
    if (!m.ok) {
      const std::string& name = ex.plan().graph().values[v].name;
      if (std::find(unmapped.begin(), unmapped.end(), name) == unmapped.end())
        unmapped.push_back(name);
      return;
    }
    const float* x = t.ptr<float>();
    const float* lo = b.lo.ptr<float>();
    const float* hi = b.hi.ptr<float>();
    const int64_t n = t.numel(), block = m.block;
    const int64_t rows = n / block, per_o = rows / m.outer;
    float mn = INFINITY, mx = -INFINITY;
    int64_t bad = 0;
    // Rows in parallel; inside a row branch-free compares that vectorise
    // (NaN fails both `>=` and `<=`, so it counts as outside).
#pragma omp parallel for reduction(+ : bad) reduction(min : mn) reduction(max : mx)
    for (int64_t r = 0; r < rows; ++r) {
      const float* l = lo + (r / per_o) * block;
      const float* h = hi + (r / per_o) * block;
      const float* p = x + r * block;
      int64_t row_bad = 0;
      for (int64_t e = 0; e < block; ++e)
        row_bad += static_cast<int64_t>(!(p[e] >= l[e]) | !(p[e] <= h[e]));
      bad += row_bad;
      if (observe) {
        float a = INFINITY, b = -INFINITY;
        for (int64_t e = 0; e < block; ++e) {
          a = std::min(a, p[e]);
          b = std::max(b, p[e]);
        }
        mn = std::min(mn, a);
        mx = std::max(mx, b);
      }
    }
    checked += n;
    if (observe) {
      seen_lo_[v] = std::min(seen_lo_[v], static_cast<double>(mn));
      seen_hi_[v] = std::max(seen_hi_[v], static_cast<double>(mx));
    }
    if (bad > 0) {
      if (violations == 0) {
        for (int64_t e = 0; e < n; ++e) {
          const int64_t k = ((e / block) / (n / block / m.outer)) * block + e % block;
          if (!(x[e] >= lo[k] && x[e] <= hi[k])) {
            first_violation =
                fmt::format("{} element {} (batch-1 element {}): {} not in [{}, {}]",
                            ex.plan().graph().values[v].name, e, k, x[e], lo[k], hi[k]);
            break;
          }
        }
      }
      violations += bad;
    }
  }

  const RangeAnalysis& ra_;
  std::vector<double> seen_lo_, seen_hi_;
};

class RangeSoundness : public ::testing::TestWithParam<std::string> {};

TEST_P(RangeSoundness, EveryValueOfEveryRunInsideItsInterval) {
  const std::string name = GetParam();
  const auto t0 = std::chrono::steady_clock::now();
  Session session(import_onnx_file(std::string(SAVE_SOURCE_DIR) + "/models/" + name + ".onnx"));
  const RangeAnalysis ra = analyze_ranges(session);
  const Graph& g = session.graph();
  const Dataset ds = load_dataset("fashion-mnist");
  ASSERT_EQ(ds.size(), 10000);
  ASSERT_EQ(ds.images.shape(), (Shape{10000, 1, 28, 28}));

  BoundsGate gate(ra);
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
  EXPECT_GT(counted, 10);
  EXPECT_GT(gate.checked, images * 28 * 28);
}

INSTANTIATE_TEST_SUITE_P(Models, RangeSoundness,
                         ::testing::Values("fmnist-cnn", "fmnist-resnet", "fmnist-vit"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace
}  // namespace save
