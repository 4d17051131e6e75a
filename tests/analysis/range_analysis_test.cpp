// Soundness of the range analysis (issue 4, part 3).
//  - Per op: for every op with an interval rule (driven by the op list), a
//    node with random input intervals; many random points inside them run
//    through the reference AND the fast kernel; every output must lie inside
//    the computed output interval.
//  - Whole model (unit size; the full gate with all test images is
//    tests/models/range_soundness_gate.cpp): a hook checks every
//    intermediate value while real and noise inputs run through each
//    bundled model; every element must lie inside its bound.
#include "analysis/range_analysis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "analysis/bounds_gate.hpp"
#include "data/dataset.hpp"
#include "exec/single_node.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"

namespace save {
namespace {

// ---------------------------------------------------------------- per op

enum class Kind { kVar, kExact, kFixed, kOmit };
struct In {
  Kind kind = Kind::kVar;
  Shape shape;
  Tensor fixed;  // kFixed: given value (indices, shapes, axes)
};
In V(Shape s) {
  return {Kind::kVar, std::move(s), {}};
}
In W(Shape s) {
  return {Kind::kExact, std::move(s), {}};
}
In I(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return {Kind::kFixed, {n}, Tensor::from<int64_t>({n}, v)};
}
In Fixed(Tensor t) {
  return {Kind::kFixed, t.shape(), t};
}
In Omit() {
  return {Kind::kOmit, {}, {}};
}

struct Case {
  std::string op;
  Attributes attrs;
  std::vector<In> inputs;
  bool positive = false;  // input intervals inside (0.05, 4) (Log, Sqrt, ...)
  size_t num_outputs = 0;
  double radius = 1.0;  // largest interval half-width drawn
};

Attributes A(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  const Shape big{4, 64, 256};  // large enough for every fast unary kernel
  for (const char* op :
       {"Abs", "Neg", "Exp", "Erf", "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Selu",
        "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Gelu", "Celu", "Identity"})
    c.push_back({op, {}, {V(big)}});
  c.push_back({"Gelu", A({{"approximate", std::string("tanh")}}), {V(big)}});
  c.push_back({"LeakyRelu", A({{"alpha", -0.3f}}), {V(big)}});
  c.push_back({"Log", {}, {V(big)}, true});
  c.push_back({"Sqrt", {}, {V(big)}, true});
  c.push_back({"Clip", {}, {V(big), V({}), W({})}});
  c.push_back({"Dropout", {}, {V({2, 3, 8})}, false, 2});
  c.push_back({"Cast", A({{"to", int64_t{1}}}), {V({2, 3, 8})}});
  c.push_back({"CastLike", {}, {V({2, 3, 8}), W({1})}});
  for (const char* op : {"Add", "Sub", "Mul", "Max", "Min", "Sum", "Mean"})
    c.push_back({op, {}, {V({2, 3, 4, 5}), V({3, 1, 5})}});
  c.push_back({"Mul", {}, {V({2, 3, 4, 5}), W({3, 1, 5})}});
  c.push_back({"Div", {}, {V({2, 3, 4, 5}), V({3, 1, 5})}});
  c.push_back({"Div", {}, {V({2, 3, 4, 5}), V({3, 1, 5})}, true});
  c.push_back({"Sum", {}, {V({2, 3}), V({2, 3}), V({3})}});
  c.push_back({"Pow", {}, {V({2, 3, 40}), Fixed(Tensor::scalar<float>(2.f))}});
  c.push_back({"Pow", {}, {V({2, 3, 40}), Fixed(Tensor::scalar<float>(3.f))}});
  c.push_back({"Pow", {}, {V({2, 3, 40}), Fixed(Tensor::scalar<float>(0.5f))}, true});
  c.push_back({"PRelu", {}, {V({2, 3, 4, 5}), W({3, 1, 1})}});
  {
    Tensor cond(DType::kBool, {2, 3, 4});
    for (int64_t i = 0; i < cond.numel(); ++i) cond.ptr<bool>()[i] = (i * 7) % 3 == 0;
    c.push_back({"Where", {}, {Fixed(cond), V({2, 3, 4}), V({3, 4})}});
  }
  const Attributes pad1 = A({{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  c.push_back({"Conv", pad1, {V({1, 3, 8, 8}), W({4, 3, 3, 3}), W({4})}});
  c.push_back({"Conv", A({{"group", int64_t{2}}}), {V({2, 4, 6, 6}), W({6, 2, 3, 3})}});
  c.push_back({"Conv", pad1, {V({1, 3, 8, 8}), V({4, 3, 3, 3}), W({4})}});
  c.push_back({"Conv", pad1, {V({1, 64, 6, 6}), W({16, 64, 3, 3}), W({16})}});
  c.push_back({"ConvTranspose",
               A({{"strides", std::vector<int64_t>{2, 2}}}),
               {V({1, 4, 5, 5}), W({4, 2, 3, 3}), W({2})}});
  c.push_back({"MatMul", {}, {V({2, 8, 16}), W({16, 12})}});
  c.push_back({"MatMul", {}, {V({2, 8, 16}), V({2, 16, 8})}});
  c.push_back({"MatMul", {}, {W({8, 16}), V({16, 4})}});
  c.push_back({"MatMul", {}, {V({4, 512}), W({512, 64})}});
  c.push_back(
      {"Gemm", A({{"transB", int64_t{1}}, {"alpha", 0.5f}}), {V({4, 16}), W({8, 16}), W({8})}});
  c.push_back({"Gemm", A({{"alpha", -1.5f}}), {V({4, 16}), W({16, 8})}});
  c.push_back(
      {"Einsum", A({{"equation", std::string("bij,bjk->bik")}}), {V({2, 5, 6}), V({2, 6, 3})}});
  const Attributes pool =
      A({{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}});
  c.push_back({"AveragePool", pool, {V({2, 3, 8, 8})}});
  c.push_back({"MaxPool", pool, {V({2, 3, 8, 8})}});
  c.push_back({"MaxPool", pool, {V({2, 3, 8, 8})}, false, 2});
  c.push_back({"GlobalAveragePool", {}, {V({2, 3, 8, 8})}});
  c.push_back({"GlobalMaxPool", {}, {V({2, 3, 8, 8})}});
  c.push_back({"BatchNormalization", {}, {V({2, 4, 5, 5}), W({4}), W({4}), W({4}), W({4})}, false});
  c.push_back({"LayerNormalization", {}, {V({2, 5, 16}), W({16}), W({16})}});
  c.push_back({"LayerNormalization", {}, {V({2, 5, 64}), W({64}), W({64})}, false, 0, 0.05});
  c.push_back({"Softmax", {}, {V({3, 4, 10})}});
  c.push_back({"Softmax", A({{"axis", int64_t{1}}}), {V({3, 4, 10})}});
  c.push_back({"LogSoftmax", {}, {V({3, 4, 10})}});
  for (const char* op : {"ReduceMax", "ReduceMin", "ReduceMean", "ReduceLogSumExp"})
    c.push_back({op, A({{"axes", std::vector<int64_t>{1}}}), {V({2, 3, 4})}});
  c.push_back({"ReduceLogSum", A({{"axes", std::vector<int64_t>{1}}}), {V({2, 3, 4})}, true});
  c.push_back({"ReduceSum", {}, {V({2, 3, 4}), I({1})}});
  c.push_back({"CumSum", {}, {V({2, 3, 4}), Fixed(Tensor::scalar<int64_t>(1))}});
  c.push_back({"TopK", {}, {V({2, 3, 8}), I({3})}, false, 2});
  // Recurrent ops (X [seq, batch, in]; weights exact, initial states variable).
  c.push_back({"RNN",
               A({{"hidden_size", int64_t{4}}}),
               {V({5, 2, 3}), W({1, 4, 3}), W({1, 4, 4}), W({1, 8}), Omit(), V({1, 2, 4})},
               false,
               2});
  c.push_back({"GRU",
               A({{"hidden_size", int64_t{4}}, {"direction", std::string("bidirectional")}}),
               {V({5, 2, 3}), W({2, 12, 3}), W({2, 12, 4}), W({2, 24}), Omit(), V({2, 2, 4})},
               false,
               2});
  c.push_back({"LSTM",
               A({{"hidden_size", int64_t{4}}, {"layout", int64_t{1}}}),
               {V({2, 5, 3}), W({1, 16, 3}), W({1, 16, 4}), W({1, 32}), Omit(), V({2, 1, 4}),
                V({2, 1, 4}), W({1, 12})},
               false,
               3});
  c.push_back({"Reshape", {}, {V({2, 3, 4}), I({6, 4})}});
  c.push_back({"Flatten", {}, {V({2, 3, 4})}});
  c.push_back({"Squeeze", {}, {V({2, 1, 4}), I({1})}});
  c.push_back({"Unsqueeze", {}, {V({2, 4}), I({1})}});
  c.push_back({"Transpose", A({{"perm", std::vector<int64_t>{2, 0, 1}}}), {V({2, 3, 4})}});
  c.push_back({"Concat", A({{"axis", int64_t{1}}}), {V({2, 3}), V({2, 5})}});
  c.push_back({"Split", A({{"axis", int64_t{1}}}), {V({2, 6}), I({2, 4})}, false, 2});
  c.push_back({"Slice", {}, {V({4, 6}), I({1, 0}), I({3, 5}), I({0, 1}), I({1, 2})}});
  c.push_back({"Gather", {}, {V({5, 3}), I({4, 0, 2, 2})}});
  c.push_back({"Expand", {}, {V({3, 1}), I({2, 3, 4})}});
  c.push_back({"Tile", {}, {V({2, 3}), I({2, 2})}});
  c.push_back({"Pad", {}, {V({2, 3}), I({1, 0, 0, 2}), V({})}});
  c.push_back({"Pad", A({{"mode", std::string("reflect")}}), {V({3, 4}), I({1, 1, 1, 1})}});
  c.push_back({"Trilu", {}, {V({4, 4})}});
  c.push_back({"DepthToSpace", A({{"blocksize", int64_t{2}}}), {V({1, 8, 3, 3})}});
  c.push_back({"SpaceToDepth", A({{"blocksize", int64_t{2}}}), {V({1, 2, 4, 4})}});
  const In scales = Fixed(Tensor::from<float>({4}, std::vector<float>{1, 1, 2, 1.5f}));
  c.push_back({"Resize", {}, {V({1, 2, 3, 4}), Omit(), scales}});
  c.push_back({"Resize", A({{"mode", std::string("linear")}}), {V({1, 2, 3, 4}), Omit(), scales}});
  c.push_back({"Upsample", {}, {V({1, 2, 3, 4}), scales}});
  return c;
}

std::string describe(const Case& c) {
  std::string s = c.op + "(";
  for (const In& in : c.inputs) s += shape_str(in.shape) + (in.kind == Kind::kExact ? "c " : " ");
  return s + ")";
}

// Worst excess of values outside bounds; NaN outputs (inputs outside the
// op's domain) are skipped.
int64_t count_outside(const Tensor& out, const Bounds& b, double* worst) {
  if (!b.known || out.dtype() != DType::kF32) return 0;
  int64_t bad = 0;
  for (int64_t e = 0; e < out.numel(); ++e) {
    const float v = out.ptr<float>()[e], l = b.lo.ptr<float>()[e], h = b.hi.ptr<float>()[e];
    if (std::isnan(v)) continue;
    if (v < l || v > h) {
      ++bad;
      *worst = std::max(*worst, double(std::max(l - v, v - h)));
    }
  }
  return bad;
}

TEST(IntervalRules, EveryRuleHasACase) {
  std::set<std::string> covered;
  for (const Case& c : cases()) covered.insert(c.op);
  for (const OpDef* d : all_ops()) {
    // The fused ops (domain ai.save) compose their parts' rules; their
    // soundness test is tests/passes/fuse_post_ops_test.cpp.
    // The control-flow ops hold subgraphs, which the table's cases cannot
    // express; their soundness tests (random points inside the box, an If
    // with an unknown condition too) are in tests/ops/control_flow_test.cpp.
    const std::string name = d->name;
    if (name == "If" || name == "Loop" || name == "Scan") continue;
    if (d->interval == nullptr || std::string(d->domain) == "ai.save") continue;
    EXPECT_TRUE(covered.count(d->name)) << d->name << " has no case";
  }
}

TEST(IntervalRules, RandomPointsStayInside) {
  std::mt19937 rng(1234);
  const IntervalOptions opts;
  int64_t total_bad = 0, checked = 0;
  for (const Case& c : cases()) {
    const OpDef* def = find_op(c.op);
    ASSERT_NE(def, nullptr) << c.op;
    Node node;
    node.name = "n";
    node.op = c.op;
    node.attrs = c.attrs;
    for (int round = 0; round < 3; ++round) {
      std::uniform_real_distribution<float> center(c.positive ? 0.5f : -2.f, 2.f);
      std::uniform_real_distribution<float> radius(0.f, static_cast<float>(c.radius));
      std::vector<Bounds> bounds;
      for (const In& in : c.inputs) {
        if (in.kind == Kind::kOmit) {
          bounds.push_back(Bounds{});
        } else if (in.kind == Kind::kFixed) {
          bounds.push_back(Bounds::point(in.fixed));
        } else {
          Tensor lo(DType::kF32, in.shape), hi(DType::kF32, in.shape);
          for (int64_t e = 0; e < lo.numel(); ++e) {
            const float m = center(rng);
            // Exact inputs (weights), and some exact elements of variable ones.
            float r = in.kind == Kind::kExact || (e % 7 == 3) ? 0.f : radius(rng);
            if (c.positive) r = std::min(r, m - 0.05f);
            lo.ptr<float>()[e] = m - r;
            hi.ptr<float>()[e] = m + r;
          }
          if (c.op == "BatchNormalization" && bounds.size() == 4)
            for (int64_t e = 0; e < lo.numel(); ++e)
              lo.ptr<float>()[e] = hi.ptr<float>()[e] = std::fabs(lo.ptr<float>()[e]) + 0.1f;
          bounds.push_back(in.kind == Kind::kExact ? Bounds::point(lo) : Bounds{true, lo, hi});
        }
      }
      std::vector<Tensor> probe;
      for (const Bounds& b : bounds) probe.push_back(b.lo);
      const std::vector<TensorInfo> infos = infer_single_node(node, probe, 17, true, c.num_outputs);
      const std::vector<Bounds> out = eval_interval(*def, node, 17, bounds, infos, opts);
      ASSERT_TRUE(out[0].known) << describe(c) << ": rule declined";
      for (int trial = 0; trial < 12; ++trial) {
        std::vector<Tensor> x;
        for (size_t i = 0; i < bounds.size(); ++i) {
          const Bounds& b = bounds[i];
          if (!b.known || b.exact()) {
            x.push_back(b.lo);
            continue;
          }
          Tensor t(DType::kF32, b.lo.shape());
          std::uniform_real_distribution<float> u(0.f, 1.f);
          for (int64_t e = 0; e < t.numel(); ++e) {
            const float l = b.lo.ptr<float>()[e], h = b.hi.ptr<float>()[e];
            // Corners matter most for interval arithmetic: a third of the
            // trials draw only endpoints.
            const float w = trial % 3 == 0 ? (u(rng) < 0.5f ? 0.f : 1.f) : u(rng);
            t.ptr<float>()[e] = std::clamp(l + (h - l) * w, l, h);
          }
          x.push_back(t);
        }
        for (KernelChoice k : {KernelChoice::kReference, KernelChoice::kFast}) {
          const SingleNodeResult r = run_single_node(node, x, k, 17, true, c.num_outputs);
          for (size_t o = 0; o < r.outputs.size() && o < out.size(); ++o) {
            double worst = 0;
            const int64_t bad = count_outside(r.outputs[o], out[o], &worst);
            checked += r.outputs[o].numel();
            total_bad += bad;
            EXPECT_EQ(bad, 0) << describe(c) << " output " << o
                              << (k == KernelChoice::kFast ? " fast" : " reference")
                              << ": worst excess " << worst;
          }
        }
      }
    }
  }
  std::printf("per-op soundness: %lld output elements checked, %lld outside their bounds\n",
              static_cast<long long>(checked), static_cast<long long>(total_bad));
}

// Long sums whose terms cancel: the result is tiny, the rounding error is
// not (gamma_n times the sum of |terms|), and every kernel rounds
// differently. Exact inputs too (the rule still adds the allowance). The
// per-op cases above never cancel this hard; a margin relative to the
// result alone (the old 1e-5 (|lo| + |hi|)) does not cover these.
TEST(IntervalRules, CancellingLongSumsStayInside) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> big(100.f, 1000.f);
  const int64_t k = 4096;
  // Each row: x = (a_0, ..., a_{k/2-1}, -a_0 + d_0, ..., -a_{k/2-1} + d_{k/2-1})
  // against weights of 1 (and their float neighbours): partial sums grow to
  // ~1e6 in any order that adds the halves apart, the exact sum is ~1e3.
  auto cancelling = [&](Shape shape) {
    Tensor t(DType::kF32, shape);
    const int64_t len = shape.back();
    for (int64_t r = 0; r < t.numel() / len; ++r)
      for (int64_t e = 0; e < len / 2; ++e) {
        const float a = big(rng);
        t.ptr<float>()[r * len + e] = a;
        t.ptr<float>()[r * len + len / 2 + e] = -a + 1e-3f * big(rng);
      }
    return t;
  };
  Tensor w(DType::kF32, {k, 8});
  for (int64_t e = 0; e < w.numel(); ++e)
    w.ptr<float>()[e] = std::nextafter(1.f, e % 3 == 0 ? 2.f : 0.f);
  struct Sum {
    const char* op;
    Attributes attrs;
    std::vector<Tensor> in;
    bool exact;  // every input exact
  };
  const Tensor x = cancelling({4, k});
  Tensor xl = x.clone(), xh = x.clone();
  for (int64_t e = 0; e < x.numel(); e += 5) xh.ptr<float>()[e] += 1e-2f;
  std::vector<Sum> sums;
  sums.push_back({"MatMul", {}, {x, w}, true});
  sums.push_back({"MatMul", {}, {x, w}, false});
  sums.push_back({"ReduceSum",
                  A({{"keepdims", int64_t{0}}}),
                  {x, Tensor::from<int64_t>({1}, std::vector<int64_t>{1})},
                  true});
  sums.push_back({"ReduceMean", A({{"axes", std::vector<int64_t>{1}}}), {x}, true});
  int64_t beyond_old_margin = 0;
  for (const Sum& c : sums) {
    const OpDef* def = find_op(c.op);
    ASSERT_NE(def, nullptr);
    Node node;
    node.op = c.op;
    node.attrs = c.attrs;
    std::vector<Bounds> bounds;
    for (size_t i = 0; i < c.in.size(); ++i)
      bounds.push_back(i == 0 && !c.exact ? Bounds{true, xl, xh} : Bounds::point(c.in[i]));
    const std::vector<TensorInfo> infos = infer_single_node(node, c.in, 13, true);
    const std::vector<Bounds> out = eval_interval(*def, node, 13, bounds, infos, {});
    ASSERT_TRUE(out[0].known) << c.op;
    for (const Tensor& xin : c.exact ? std::vector<Tensor>{x} : std::vector<Tensor>{xl, xh, x}) {
      std::vector<Tensor> in = c.in;
      in[0] = xin;
      for (KernelChoice kc : {KernelChoice::kReference, KernelChoice::kFast}) {
        const Tensor y = run_single_node(node, in, kc, 13, true).outputs[0];
        double worst = 0;
        EXPECT_EQ(count_outside(y, out[0], &worst), 0)
            << c.op << (kc == KernelChoice::kFast ? " fast" : " reference") << ": worst excess "
            << worst;
        // How far the kernels are from the result in double: beyond what
        // a relative margin of 1e-5 on the result would have allowed?
        if (!c.exact || c.op != std::string("MatMul")) continue;
        for (int64_t r = 0; r < 4; ++r)
          for (int64_t j = 0; j < 8; ++j) {
            double exact = 0;
            for (int64_t i = 0; i < k; ++i)
              exact += double(x.ptr<float>()[r * k + i]) * w.ptr<float>()[i * 8 + j];
            const double err = std::fabs(y.ptr<float>()[r * 8 + j] - exact);
            beyond_old_margin += err > 2e-5 * std::fabs(exact) + 1e-6 * std::fabs(exact);
          }
      }
    }
  }
  // The case is hard enough to need the gamma_n allowance.
  EXPECT_GT(beyond_old_margin, 0);
}

TEST(IntervalRules, GammaAndTermCounts) {
  EXPECT_DOUBLE_EQ(gamma_n(0), 0);
  const double nu = 1000 * kUnitRoundoff;
  EXPECT_DOUBLE_EQ(gamma_n(1000), nu / (1 - nu));
  EXPECT_TRUE(std::isinf(gamma_n(int64_t{1} << 24)));
  Node conv;
  conv.op = "Conv";
  const std::vector<Shape> cin{{1, 64, 8, 8}, {32, 16, 3, 3}, {32}};
  const std::vector<uint8_t> with_bias{1, 1, 1}, no_bias{1, 1, 0};
  EXPECT_EQ(dot_terms(conv, cin, with_bias, Shape{1, 32, 8, 8}), 16 * 9 + 1);
  EXPECT_EQ(dot_terms(conv, cin, no_bias, Shape{1, 32, 8, 8}), 16 * 9);
  Node gemm;
  gemm.op = "Gemm";
  gemm.attrs.set("transA", int64_t{1});
  EXPECT_EQ(dot_terms(gemm, std::vector<Shape>{{7, 3}, {7, 5}}, no_bias, Shape{3, 5}), 7);
  Node mm;
  mm.op = "MatMul";
  EXPECT_EQ(dot_terms(mm, std::vector<Shape>{{2, 4, 9}, {9, 3}}, no_bias, Shape{2, 4, 3}), 9);
  Node relu;
  relu.op = "Relu";
  EXPECT_EQ(dot_terms(relu, std::vector<Shape>{{3}}, no_bias, Shape{3}), -1);
}

TEST(IntervalRules, SoftmaxBoundsAreTight) {
  // Exact inputs give (widened) points; the rule must not be looser.
  const OpDef* def = find_op("Softmax");
  Node node;
  node.op = "Softmax";
  Tensor x = Tensor::from<float>({1, 3}, std::vector<float>{0.f, 1.f, 2.f});
  Tensor lo = x.clone(), hi = x.clone();
  hi.ptr<float>()[0] = 0.5f;
  const auto out =
      eval_interval(*def, node, 17, {Bounds{true, lo, hi}}, {{DType::kF32, {1, 3}}}, {});
  // Element 2 is largest at x0 = 0: e^2 / (1 + e + e^2) = 0.6652.
  EXPECT_NEAR(out[0].hi.ptr<float>()[2], 0.66524f, 1e-4f);
  EXPECT_NEAR(out[0].lo.ptr<float>()[2],
              std::exp(2.f) / (std::exp(0.5f) + std::exp(1.f) + std::exp(2.f)), 1e-4f);
}

TEST(RangeAnalysis, ParsesInputRange) {
  auto [name, r] = parse_input_range("input=-1.5:2");
  EXPECT_EQ(name, "input");
  EXPECT_EQ(r.first, -1.5);
  EXPECT_EQ(r.second, 2);
  EXPECT_THROW(parse_input_range("input=2:1"), Error);
  EXPECT_THROW(parse_input_range("input"), Error);
  EXPECT_THROW(parse_input_range("x=a:1"), Error);
}

// ---------------------------------------------------------------- models

class ModelSoundness : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelSoundness, EveryValueInsideItsBound) {
  const std::string path = std::string(SAVE_SOURCE_DIR) + "/" + GetParam();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present yet";
  Session session(import_onnx_file(path));
  const RangeAnalysis ra = analyze_ranges(session);
  const Graph& g = session.graph();
  // Only single float-input models get the image set; others random inputs.
  ASSERT_FALSE(g.inputs.empty());
  std::vector<Tensor> probe = batch1_inputs(g);
  bool image_model = g.inputs.size() == 1 && probe[0].shape() == (Shape{1, 1, 28, 28});
  for (const Tensor& t : probe) ASSERT_TRUE(is_float(t.dtype())) << "fixture with int input";

  test::BoundsGate checker(ra);
  session.set_hooks(&checker);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto noise = [&](Shape s) {
    Tensor t(DType::kF32, std::move(s));
    for (int64_t e = 0; e < t.numel(); ++e) t.ptr<float>()[e] = u(rng);
    return t;
  };
  auto run_with = [&](auto make) {
    std::vector<Tensor> in;
    for (const Tensor& p : probe) in.push_back(make(p.shape()));
    checker.batch = in[0].shape()[0];
    session.run(in);
  };
  int64_t runs = 0;
  // Unit-test size (about 350 images per model; ~1.5 min for the three
  // models): 100 test images and 100 noise images one at a time, one batch
  // of 100 test images and one of 50 noise images (batch-N kernels round
  // differently), constant 0 and 1 images.
  if (image_model) {
    const Dataset ds = load_dataset("fashion-mnist");
    for (int64_t i = 0; i < 100; ++i, ++runs) session.run({slice_rows(ds.images, i, i + 1)});
    checker.batch = 100;
    session.run({slice_rows(ds.images, 100, 200)});
    ++runs;
  }
  for (int i = 0; i < 100; ++i, ++runs) run_with(noise);
  run_with([&](Shape s) {
    s[0] = 50;
    return noise(s);
  });
  ++runs;
  for (float c : {0.f, 1.f}) {
    run_with([&](Shape s) { return test::filled_f32(s, c); });
    ++runs;
  }
  session.set_hooks(nullptr);

  // The full-size check, with the interval blow-up per model, is the gate
  // tests/models/range_soundness_gate.cpp; this unit-size one also covers a
  // two-input fixture and single-image runs, and runs under the sanitizers.
  std::printf("%s: %lld runs, %lld elements checked, %lld violations\n", GetParam().c_str(),
              static_cast<long long>(runs), static_cast<long long>(checker.checked),
              static_cast<long long>(checker.violations));
  EXPECT_EQ(checker.violations, 0) << checker.first_violation;
  EXPECT_TRUE(checker.unmapped.empty()) << "unmapped: " << checker.unmapped.front();
  EXPECT_GT(checker.checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelSoundness,
                         ::testing::Values("models/fmnist-cnn.onnx", "models/fmnist-resnet.onnx",
                                           "models/fmnist-vit.onnx", "tests/data/two_inputs.onnx"),
                         [](const auto& info) {
                           std::string n = std::filesystem::path(info.param).stem().string();
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace save
