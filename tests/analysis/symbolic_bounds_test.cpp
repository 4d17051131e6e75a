// Symbolic linear bounds (analysis/symbolic_form.hpp, symbolic_bounds.hpp):
// the form algebra holds at random points of the box, the pass is exact on
// linear chains where intervals are not, never widens the intervals, and
// every value of real runs of a small residual network with Relus stays
// inside its bounds.
#include <gtest/gtest.h>

#include <random>

#include "analysis/bounds_gate.hpp"
#include "analysis/range_analysis.hpp"
#include "analysis/symbolic_form.hpp"
#include "data/dataset.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

// U(x) and L(x) of element e at generator values x (x[0] = 1).
std::pair<double, double> eval_at(const SymbolicForm& f, int64_t e, const std::vector<double>& x) {
  const int64_t n = f.numel();
  double u = 0, l = 0;
  for (int64_t g = 0; g < f.rows(); ++g) {
    const double m = f.m.ptr<float>()[g * n + e], d = f.d.ptr<float>()[g * n + e];
    u += (m + d) * x[g];
    l += (m - d) * x[g];
  }
  return {l, u};
}

std::vector<double> random_point(const GeneratorBox& box, std::mt19937& rng) {
  std::vector<double> x{1};
  for (size_t g = 0; g < box.lo.size(); ++g) {
    // A third of the coordinates at a corner.
    const int pick = std::uniform_int_distribution<int>(0, 5)(rng);
    const double t = pick == 0 ? 0 : pick == 1 ? 1 : std::uniform_real_distribution<>(0, 1)(rng);
    x.push_back(box.lo[g] + t * (box.hi[g] - box.lo[g]));
  }
  return x;
}

TEST(SymbolicForm, ConcretisedBoundsHoldAtEveryPoint) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  GeneratorBox box{{-1, 0, 2, -3, 0.5}, {1, 1, 2, -1, 4}};
  SymbolicForm f{Tensor(DType::kF32, {6, 7}), Tensor(DType::kF32, {6, 7})};
  for (int64_t i = 0; i < f.m.numel(); ++i) {
    f.m.ptr<float>()[i] = nd(rng);
    f.d.ptr<float>()[i] = std::abs(nd(rng)) * 0.1f;
  }
  const Concrete c = concretize(f, box);
  for (int t = 0; t < 2000; ++t) {
    const std::vector<double> x = random_point(box, rng);
    for (int64_t e = 0; e < f.numel(); ++e) {
      auto [l, u] = eval_at(f, e, x);
      ASSERT_GE(l, c.lo[e]);
      ASSERT_LE(u, c.hi[e]);
      ASSERT_LE(std::abs(l), c.mag[e] * (1 + 1e-12));
    }
  }
}

TEST(SymbolicForm, ReluRelaxationHoldsAtEveryPoint) {
  std::mt19937 rng(2);
  std::normal_distribution<double> nd(0, 1);
  GeneratorBox box{{0, 0, 0}, {1, 1, 1}};
  // v_e = sum_g a_eg x_g + c_e: elements that straddle 0, and all-positive
  // and all-negative ones.
  const int64_t n = 9;
  SymbolicForm v{Tensor(DType::kF32, {4, n}), Tensor(DType::kF32, {4, n})};
  for (int64_t e = 0; e < n; ++e)
    for (int64_t g = 0; g < 4; ++g) {
      const double shift = e < 3 ? 0 : e < 6 ? 5 : -5;
      v.m.ptr<float>()[g * n + e] = static_cast<float>(g == 0 ? shift + nd(rng) * 0.1 : nd(rng));
      v.d.ptr<float>()[g * n + e] = g == 0 ? 0.05f : 0.f;
    }
  const Concrete c = concretize(v, box);
  const SymbolicForm r = relu(v, c.lo, c.hi);
  for (int t = 0; t < 5000; ++t) {
    const std::vector<double> x = random_point(box, rng);
    for (int64_t e = 0; e < n; ++e) {
      auto [vl, vu] = eval_at(v, e, x);
      auto [rl, ru] = eval_at(r, e, x);
      // Every value the input form allows, through Relu, inside the output
      // form (up to the coefficients' float rounding, which finish() adds).
      const double slack = 1e-5 * (1 + std::abs(vu) + std::abs(vl));
      for (double val : {vl, vu, 0.5 * (vl + vu)}) {
        ASSERT_LE(rl, std::max(val, 0.0) + slack) << "element " << e;
        ASSERT_GE(ru, std::max(val, 0.0) - slack) << "element " << e;
      }
    }
  }
}

TEST(SymbolicForm, MaxRuleHoldsAtEveryPoint) {
  std::mt19937 rng(5);
  std::normal_distribution<double> nd(0, 1);
  GeneratorBox box{{0, 0, 0}, {1, 1, 1}};
  const int64_t n = 6;
  SymbolicForm v{Tensor(DType::kF32, {4, n}), Tensor(DType::kF32, {4, n})};
  for (int64_t e = 0; e < n; ++e)
    for (int64_t g = 0; g < 4; ++g) {
      // Element 5 sits far above the others: its window's max is exact.
      v.m.ptr<float>()[g * n + e] = static_cast<float>(g == 0 ? (e == 5 ? 20 : 0) : nd(rng));
      v.d.ptr<float>()[g * n + e] = g == 0 ? 0.02f : 0.f;
    }
  const Concrete c = concretize(v, box);
  // Windows {0, 1, 2}, {2, 3}, {4, 5}.
  const std::vector<int64_t> offsets{0, 3, 5, 7}, windows{0, 1, 2, 2, 3, 4, 5};
  const SymbolicForm r = max_over(v, c.lo, c.hi, offsets, windows);
  ASSERT_EQ(r.numel(), 3);
  for (int t = 0; t < 5000; ++t) {
    const std::vector<double> x = random_point(box, rng);
    for (int64_t o = 0; o < 3; ++o) {
      double lo_max = -1e300, hi_max = -1e300;
      for (int64_t k = offsets[o]; k < offsets[o + 1]; ++k) {
        auto [l, u] = eval_at(v, windows[k], x);
        lo_max = std::max(lo_max, l);
        hi_max = std::max(hi_max, u);
      }
      auto [rl, ru] = eval_at(r, o, x);
      const double slack = 1e-5 * (1 + std::abs(hi_max));
      ASSERT_LE(rl, lo_max + slack) << "window " << o;  // the max is >= lo_max
      ASSERT_GE(ru, hi_max - slack) << "window " << o;
    }
  }
  // The dominated window keeps element 5's upper function, not a constant.
  EXPECT_NE(r.m.ptr<float>()[1 * 3 + 2] + r.d.ptr<float>()[1 * 3 + 2], 0.f);
}

// x -> Conv -> Conv, and Sub(Conv(x), Conv(x)): linear, so the forms are
// exact where boxes lose the correlation.
TEST(SymbolicBounds, ExactOnLinearChains) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 0.5f);
  auto weights = [&](Shape s) {
    Tensor t(DType::kF32, std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = nd(rng);
    return t;
  };
  test::GraphBuilder b;
  const ValueId x = b.input("x", {1, 1, 6, 6});
  Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ValueId w1 = b.constant("w1", weights({4, 1, 3, 3}));
  const ValueId w2 = b.constant("w2", weights({4, 4, 3, 3}));
  const ValueId c1 = b.node("Conv", {x, w1}, pad);
  const ValueId c2 = b.node("Conv", {c1, w2}, pad);
  const ValueId same = b.node("Conv", {x, w1}, pad);
  const ValueId zero = b.node("Sub", {c1, same});
  Graph g = b.done({c2, zero});
  auto analyse = [&](bool symbolic) {
    SessionOptions so;
    so.passes.enabled = false;
    auto s = std::make_unique<Session>(g, so);
    RangeOptions o;
    o.symbolic.enabled = symbolic;
    RangeAnalysis ra = analyze_ranges(*s, o);
    return std::make_pair(std::move(s), std::move(ra));
  };
  auto [s0, plain] = analyse(false);
  auto [s1, sym] = analyse(true);
  EXPECT_FALSE(plain.symbolic.on);
  ASSERT_TRUE(sym.symbolic.on) << sym.symbolic.off_reason;
  EXPECT_EQ(sym.symbolic.generators, 36);
  EXPECT_EQ(sym.symbolic.values_with_form, 4);
  EXPECT_EQ(sym.symbolic.disjoint_elements, 0);
  auto width = [](const RangeAnalysis& ra, ValueId v) {
    double w = 0;
    const auto lo = ra.bounds[v].lo.to_double(), hi = ra.bounds[v].hi.to_double();
    for (size_t e = 0; e < lo.size(); ++e) w += hi[e] - lo[e];
    return w / static_cast<double>(lo.size());
  };
  // Never wider than the intervals, element by element.
  for (ValueId v : {c1, c2, zero}) {
    const auto pl = plain.bounds[v].lo.to_double(), ph = plain.bounds[v].hi.to_double();
    const auto sl = sym.bounds[v].lo.to_double(), sh = sym.bounds[v].hi.to_double();
    for (size_t e = 0; e < pl.size(); ++e) {
      EXPECT_GE(sl[e], pl[e]);
      EXPECT_LE(sh[e], ph[e]);
    }
  }
  EXPECT_LT(width(sym, c2), 0.9 * width(plain, c2));
  // x - x: the intervals give the full spread, the forms only rounding.
  EXPECT_GT(width(plain, zero), 1.0);
  EXPECT_LT(width(sym, zero), 1e-3);
}

// A small residual network, graph passes on (fused Conv + Add + Relu,
// Gemm): soundness on random and corner inputs, and no disagreement.
TEST(SymbolicBounds, ResidualNetworkStaysInside) {
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.f, 0.4f);
  auto weights = [&](Shape s) {
    Tensor t(DType::kF32, std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = nd(rng);
    return t;
  };
  test::GraphBuilder b;
  const ValueId x = b.input("x", {1, 1, 8, 8});
  Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ValueId c0 = b.node(
      "Conv", {x, b.constant("w0", weights({4, 1, 3, 3})), b.constant("b0", weights({4}))}, pad);
  const ValueId r0 = b.node("Relu", {c0});
  const ValueId c1 = b.node("Conv", {r0, b.constant("w1", weights({4, 4, 3, 3}))}, pad);
  const ValueId r1 = b.node("Relu", {c1});
  const ValueId c2 = b.node("Conv", {r1, b.constant("w2", weights({4, 4, 3, 3}))}, pad);
  const ValueId sum = b.node("Add", {c2, r0});
  const ValueId r2 = b.node("Relu", {sum});
  const ValueId gap = b.node("GlobalAveragePool", {r2});
  Attributes flat;
  flat.set("axis", int64_t{1});
  const ValueId f = b.node("Flatten", {gap}, flat);
  Attributes tb;
  tb.set("transB", int64_t{1});
  const ValueId y =
      b.node("Gemm", {f, b.constant("wf", weights({3, 4})), b.constant("bf", weights({3}))}, tb);
  Graph g = b.done({y});
  Session session(g);
  RangeOptions o;
  o.symbolic.enabled = true;
  RangeAnalysis ra = analyze_ranges(session, o);
  ASSERT_TRUE(ra.symbolic.on) << ra.symbolic.off_reason;
  EXPECT_GT(ra.symbolic.values_with_form, 3);
  EXPECT_EQ(ra.symbolic.disjoint_elements, 0);
  test::BoundsGate gate(ra);
  session.set_hooks(&gate);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int t = 0; t < 300; ++t) {
    Tensor in(DType::kF32, {1, 1, 8, 8});
    for (int64_t e = 0; e < in.numel(); ++e)
      in.ptr<float>()[e] = t < 100 ? (u(rng) < 0.5f ? 0.f : 1.f) : u(rng);
    gate.batch = 1;
    session.run({in});
  }
  session.set_hooks(nullptr);
  EXPECT_EQ(gate.violations, 0) << gate.first_violation;
  EXPECT_GT(gate.checked, 0);
}

// fmnist-cnn (Conv, Relu, MaxPool, Gemm, all with forms): every value of
// real, noise and corner runs inside the bounds, and none disagree.
TEST(SymbolicBounds, FmnistCnnStaysInside) {
  Session session(import_onnx_file(std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx"));
  RangeOptions o;
  o.symbolic.enabled = true;
  const RangeAnalysis ra = analyze_ranges(session, o);
  ASSERT_TRUE(ra.symbolic.on) << ra.symbolic.off_reason;
  EXPECT_GE(ra.symbolic.values_with_form, 8);  // through both MaxPools to the logits
  EXPECT_EQ(ra.symbolic.disjoint_elements, 0);
  test::BoundsGate gate(ra);
  session.set_hooks(&gate);
  const Dataset ds = load_dataset("fashion-mnist");
  gate.batch = 100;
  session.run({slice_rows(ds.images, 0, 100)});
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Tensor noise(DType::kF32, {100, 1, 28, 28});
  for (int64_t e = 0; e < noise.numel(); ++e) noise.ptr<float>()[e] = u(rng);
  session.run({noise});
  for (float c : {0.f, 1.f}) session.run({test::filled_f32({100, 1, 28, 28}, c)});
  session.set_hooks(nullptr);
  EXPECT_EQ(gate.violations, 0) << gate.first_violation;
  EXPECT_GT(gate.checked, 0);
}

}  // namespace
}  // namespace save
