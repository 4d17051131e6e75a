// Tests of the binary family: broadcasting shape rules, reference kernels
// against a naive per-element broadcast written here, fast kernels against
// the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::make_node;
using test::random_f32;

Tensor floats(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(std::move(shape), std::span<const float>(v));
}
Tensor ints(Shape shape, std::vector<int64_t> v) {
  return Tensor::from<int64_t>(std::move(shape), std::span<const int64_t>(v));
}

// Naive numpy broadcasting, one element at a time, in double: independent of
// the kernels' row-wise walk.
Tensor naive(const std::vector<Tensor>& ins, const Shape& out, DType dtype,
             const std::function<double(const std::vector<double>&)>& f) {
  Tensor t(dtype, out);
  std::vector<std::vector<double>> vals;
  for (const Tensor& in : ins) vals.push_back(in.to_double());
  std::vector<double> res(static_cast<size_t>(t.numel()));
  for (int64_t o = 0; o < t.numel(); ++o) {
    std::vector<int64_t> idx(out.size());
    int64_t rem = o;
    for (size_t d = out.size(); d-- > 0;) {
      idx[d] = rem % out[d];
      rem /= out[d];
    }
    std::vector<double> args;
    for (size_t k = 0; k < ins.size(); ++k) {
      const Shape& s = ins[k].shape();
      int64_t off = 0;
      for (size_t d = 0; d < s.size(); ++d) {
        int64_t i = idx[out.size() - s.size() + d];
        off = off * s[d] + (s[d] == 1 ? 0 : i);
      }
      args.push_back(vals[k][static_cast<size_t>(off)]);
    }
    res[static_cast<size_t>(o)] = f(args);
  }
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<T>()[i] = static_cast<T>(res[i]);
  });
  return t;
}

Tensor run_ref(const Node& n, const std::vector<Tensor>& in, int64_t opset = 17) {
  return run_single_node(n, in, KernelChoice::kReference, opset).outputs.at(0);
}

using Fn = std::function<double(const std::vector<double>&)>;
const std::map<std::string, Fn>& formulas() {
  static const std::map<std::string, Fn> m{
      {"Add", [](auto& v) { return v[0] + v[1]; }},
      {"Sub", [](auto& v) { return v[0] - v[1]; }},
      {"Mul", [](auto& v) { return v[0] * v[1]; }},
      {"Div", [](auto& v) { return v[0] / v[1]; }},
      {"Max", [](auto& v) { return *std::max_element(v.begin(), v.end()); }},
      {"Min", [](auto& v) { return *std::min_element(v.begin(), v.end()); }},
      {"Sum", [](auto& v) { return std::accumulate(v.begin(), v.end(), 0.0); }},
      {"Mean", [](auto& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }},
      {"Equal", [](auto& v) { return v[0] == v[1] ? 1.0 : 0.0; }},
      {"Greater", [](auto& v) { return v[0] > v[1] ? 1.0 : 0.0; }},
      {"Less", [](auto& v) { return v[0] < v[1] ? 1.0 : 0.0; }},
      {"GreaterOrEqual", [](auto& v) { return v[0] >= v[1] ? 1.0 : 0.0; }},
      {"LessOrEqual", [](auto& v) { return v[0] <= v[1] ? 1.0 : 0.0; }},
  };
  return m;
}

TEST(Binary, ShapeRules) {
  auto s = [](const char* op, Shape a, Shape b, int64_t opset = 17, Attributes at = {}) {
    return infer_single_node(make_node(op, at), {Tensor(DType::kF32, a), Tensor(DType::kF32, b)},
                             opset)[0];
  };
  EXPECT_EQ(s("Add", {2, 3, 4}, {4}).shape, (Shape{2, 3, 4}));
  EXPECT_EQ(s("Mul", {2, 1, 4}, {3, 1}).shape, (Shape{2, 3, 4}));
  EXPECT_EQ(s("Sub", {}, {5}).shape, (Shape{5}));
  EXPECT_EQ(s("Add", {2, 3}, {2, 3}).dtype, DType::kF32);
  EXPECT_EQ(s("Equal", {2, 3}, {3}).dtype, DType::kBool);
  EXPECT_EQ(s("Less", {2, 3}, {1}).dtype, DType::kBool);
  // Opset 6 broadcast with axis: B = [3, 4] lines up with A's dims 1..2.
  Attributes legacy;
  legacy.set("broadcast", int64_t{1});
  legacy.set("axis", int64_t{1});
  EXPECT_EQ(s("Add", {2, 3, 4, 5}, {3, 4}, 6, legacy).shape, (Shape{2, 3, 4, 5}));
  auto v = infer_single_node(make_node("Sum"), {Tensor(DType::kF32, {3, 1}),
                                                Tensor(DType::kF32, {4}), Tensor(DType::kF32, {})});
  EXPECT_EQ(v[0].shape, (Shape{3, 4}));
}

TEST(Binary, ShapeErrors) {
  EXPECT_THROW(
      infer_single_node(make_node("Add"), {Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {4})}),
      Error);
  EXPECT_THROW(
      infer_single_node(make_node("Mul"), {Tensor(DType::kF32, {2}), Tensor(DType::kI64, {2})}),
      Error);
  EXPECT_THROW(infer_single_node(make_node("Greater"),
                                 {Tensor(DType::kBool, {2}), Tensor(DType::kBool, {2})}),
               Error);
  EXPECT_THROW(
      infer_single_node(make_node("Max"), {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {3})}),
      Error);
}

struct ShapePair {
  Shape a, b;
};
const std::vector<ShapePair> kPairs{
    {{3, 4, 5}, {3, 4, 5}}, {{3, 4, 5}, {5}},       {{3, 4, 5}, {}},  {{2, 3, 4, 5}, {1, 3, 1, 1}},
    {{4, 1}, {3}},          {{1, 4, 1}, {2, 1, 6}}, {{5}, {2, 3, 5}}, {{}, {}}};

TEST(Binary, ReferenceMatchesNaiveBroadcast) {
  for (const std::string op :
       {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Equal", "Greater", "Less"}) {
    for (const ShapePair& p : kPairs) {
      SCOPED_TRACE(op + " " + shape_str(p.a) + " " + shape_str(p.b));
      // Small integers as floats so Equal sees equal values.
      Tensor a = random_f32(p.a, 1, 1, 4), b = random_f32(p.b, 2, 1, 4);
      for (Tensor* t : {&a, &b})
        for (int64_t i = 0; i < t->numel(); ++i)
          t->ptr<float>()[i] = std::round(t->ptr<float>()[i]);
      const bool cmp = op == "Equal" || op.find("Greater") == 0 || op.find("Less") == 0;
      Shape out = infer_single_node(make_node(op), {a, b})[0].shape;
      expect_close(run_ref(make_node(op), {a, b}),
                   naive({a, b}, out, cmp ? DType::kBool : DType::kF32, formulas().at(op)), 1e-5,
                   1e-6);
    }
  }
}

TEST(Binary, LegacyAxisBroadcast) {
  Attributes legacy;
  legacy.set("broadcast", int64_t{1});
  legacy.set("axis", int64_t{0});
  Tensor a = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = floats({2}, {10, 20});
  expect_close(run_ref(make_node("Add", legacy), {a, b}, 6),
               floats({2, 3}, {11, 12, 13, 24, 25, 26}), 1e-5, 1e-6);
}

TEST(Binary, IntegerArithmetic) {
  Tensor a = ints({4}, {7, -7, 7, -7}), b = ints({4}, {2, 2, -2, -2});
  EXPECT_EQ(run_ref(make_node("Div"), {a, b}).to_int64(), (std::vector<int64_t>{3, -3, -3, 3}));
  EXPECT_EQ(run_ref(make_node("Sub"), {a, b}).to_int64(), (std::vector<int64_t>{5, -9, 9, -5}));
  EXPECT_EQ(run_ref(make_node("Max"), {a, b}).to_int64(), (std::vector<int64_t>{7, 2, 7, -2}));
  EXPECT_THROW(run_ref(make_node("Div"), {a, ints({1}, {0})}), Error);
  std::vector<int32_t> x{1, 2, 3}, y{1, 5, 3};
  auto eq =
      run_ref(make_node("Equal"), {Tensor::from<int32_t>({3}, x), Tensor::from<int32_t>({3}, y)});
  EXPECT_EQ(eq.dtype(), DType::kBool);
  EXPECT_EQ(eq.to_int64(), (std::vector<int64_t>{1, 0, 1}));
}

TEST(Binary, VariadicOneAndThreeInputs) {
  Tensor a = floats({3}, {3, 2, 1}), b = floats({3}, {1, 3, 4}), c = floats({3}, {2, 6, -2});
  expect_close(run_ref(make_node("Max"), {a}), a, 1e-5, 1e-6);
  expect_close(run_ref(make_node("Max"), {a, b, c}), floats({3}, {3, 6, 4}), 1e-5, 1e-6);
  expect_close(run_ref(make_node("Min"), {a, b, c}), floats({3}, {1, 2, -2}), 1e-5, 1e-6);
  expect_close(run_ref(make_node("Sum"), {a, b, c}), floats({3}, {6, 11, 3}), 1e-5, 1e-6);
  expect_close(run_ref(make_node("Mean"), {a, b, c}), floats({3}, {2, 11.f / 3, 1}), 1e-5, 1e-6);
  // Broadcast where the first input is the small one.
  Tensor s = floats({1}, {10});
  expect_close(run_ref(make_node("Sum"), {s, a}), floats({3}, {13, 12, 11}), 1e-5, 1e-6);
}

// ---- fast kernels ----

TEST(BinaryFast, MatchesReference) {
  const std::vector<ShapePair> big{{{8, 32, 16, 16}, {8, 32, 16, 16}},
                                   {{8, 32, 16, 16}, {1, 32, 1, 1}},
                                   {{8, 32, 16, 16}, {16}},
                                   {{8, 32, 16, 16}, {}},
                                   {{32, 1, 16}, {8, 32, 16, 16}}};
  for (const std::string op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"}) {
    for (const ShapePair& p : big) {
      SCOPED_TRACE(op + " " + shape_str(p.a) + " " + shape_str(p.b));
      Tensor a = random_f32(p.a, 3, -2, 2), b = random_f32(p.b, 4, 0.5f, 2);
      auto fast = run_single_node(make_node(op), {a, b}, KernelChoice::kFast);
      // oneDNN only broadcasts its second source: Div with a broadcast first
      // operand has no fast form.
      const bool expect_fast = !(op == "Div" && p.a.size() < p.b.size());
      EXPECT_EQ(fast.used_fast, expect_fast);
      expect_close(fast.outputs[0], run_ref(make_node(op), {a, b}), 1e-5, 1e-6);
    }
  }
  // Three inputs.
  Tensor a = random_f32({256, 300}, 5, -2, 2), b = random_f32({300}, 6, -2, 2),
         c = random_f32({256, 1}, 7, -2, 2);
  for (const std::string op : {"Sum", "Mean", "Max", "Min"}) {
    SCOPED_TRACE(op);
    auto fast = run_single_node(make_node(op), {c, a, b}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    expect_close(fast.outputs[0], run_ref(make_node(op), {c, a, b}), 1e-5, 1e-6);
  }
}

// Broadcast operands below the same-shape threshold (squeeze-excitation
// scaling, per-channel bias) still take oneDNN: the reference's loop is
// strided there.
TEST(BinaryFast, SmallBroadcastsTakeTheFastKernel) {
  const std::vector<ShapePair> small{{{1, 72, 28, 28}, {1, 72, 1, 1}},
                                     {{2, 48, 7, 7}, {2, 48, 1, 1}},
                                     {{1, 40, 14, 14}, {40, 1, 1}}};
  for (const std::string op : {"Add", "Sub", "Mul"}) {
    for (const ShapePair& p : small) {
      SCOPED_TRACE(op + " " + shape_str(p.a) + " " + shape_str(p.b));
      Tensor a = random_f32(p.a, 3, -2, 2), b = random_f32(p.b, 4, 0.5f, 2);
      auto fast = run_single_node(make_node(op), {a, b}, KernelChoice::kFast);
      EXPECT_TRUE(fast.used_fast);
      expect_close(fast.outputs[0], run_ref(make_node(op), {a, b}), 1e-5, 1e-6);
    }
  }
  // Same shapes that small stay with the (vectorised) reference.
  Tensor a = random_f32({1, 72, 28, 28}, 3, -2, 2), b = random_f32({1, 72, 28, 28}, 4, -2, 2);
  EXPECT_FALSE(run_single_node(make_node("Mul"), {a, b}, KernelChoice::kFast).used_fast);
}

TEST(BinaryFast, DeclinesWhenNoInputHasTheOutputShape) {
  Tensor a = random_f32({100, 1}, 8, -1, 1), b = random_f32({1, 100}, 9, -1, 1);
  auto fast = run_single_node(make_node("Add"), {a, b}, KernelChoice::kFast);
  EXPECT_FALSE(fast.used_fast);
  expect_close(fast.outputs[0], naive({a, b}, {100, 100}, DType::kF32, formulas().at("Add")), 1e-5,
               1e-6);
}

// ---- Pow ----

TEST(Pow, MixedTypes) {
  Tensor x = floats({3}, {1, 2, 3});
  expect_close(run_ref(make_node("Pow"), {x, ints({3}, {4, 5, 6})}), floats({3}, {1, 32, 729}),
               1e-5, 1e-6);
  std::vector<int32_t> e{2};
  expect_close(run_ref(make_node("Pow"), {x, Tensor::from<int32_t>({1}, e)}),
               floats({3}, {1, 4, 9}), 1e-5, 1e-6);
  expect_close(run_ref(make_node("Pow"), {x, Tensor::scalar(0.5f)}),
               floats({3}, {1, std::sqrt(2.f), std::sqrt(3.f)}), 1e-5, 1e-6);
  EXPECT_EQ(run_ref(make_node("Pow"), {ints({3}, {2, -3, 5}), ints({3}, {10, 3, 0})}).to_int64(),
            (std::vector<int64_t>{1024, -27, 1}));
  // Int base, float exponent: output keeps the base's type.
  auto r = run_ref(make_node("Pow"), {ints({2}, {4, 9}), floats({2}, {0.5f, 2})});
  EXPECT_EQ(r.dtype(), DType::kI64);
  EXPECT_EQ(r.to_int64(), (std::vector<int64_t>{2, 81}));
  // Broadcast array exponent.
  Tensor base = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_close(run_ref(make_node("Pow"), {base, floats({3}, {1, 2, 3})}),
               naive({base, floats({3}, {1, 2, 3})}, {2, 3}, DType::kF32,
                     [](auto& v) { return std::pow(v[0], v[1]); }),
               1e-5, 1e-6);
  EXPECT_THROW(
      infer_single_node(make_node("Pow"), {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {3})}),
      Error);
}

TEST(Pow, FastScalarExponent) {
  Tensor x = random_f32({64, 128}, 10, -3, 3);
  for (float e : {2.f, 3.f, 1.f, 0.f}) {
    SCOPED_TRACE(e);
    auto fast = run_single_node(make_node("Pow"), {x, Tensor::scalar(e)}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    expect_close(fast.outputs[0], run_ref(make_node("Pow"), {x, Tensor::scalar(e)}), 1e-5, 1e-5);
  }
  Tensor pos = random_f32({64, 128}, 11, 0.1f, 3);
  for (float e : {0.5f, -1.5f, 2.5f}) {
    SCOPED_TRACE(e);
    auto fast = run_single_node(make_node("Pow"), {pos, Tensor::scalar(e)}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    expect_close(fast.outputs[0], run_ref(make_node("Pow"), {pos, Tensor::scalar(e)}), 1e-5, 1e-5);
  }
}

// ---- PRelu ----

TEST(PRelu, Reference) {
  Tensor x = floats({2, 3}, {-1, 2, -3, 4, -5, 6});
  expect_close(run_ref(make_node("PRelu"), {x, floats({3}, {0.1f, 0.2f, 0.3f})}),
               floats({2, 3}, {-0.1f, 2, -0.9f, 4, -1, 6}), 1e-5, 1e-6);
  expect_close(run_ref(make_node("PRelu"), {x, floats({1}, {0.5f})}),
               floats({2, 3}, {-0.5f, 2, -1.5f, 4, -2.5f, 6}), 1e-5, 1e-6);
  // Old per-channel slope [C] for an [N, C, L] input.
  Tensor y = floats({1, 2, 3}, {-1, -2, -3, 4, -5, 6});
  expect_close(run_ref(make_node("PRelu"), {y, floats({2}, {0.1f, 10})}, 6),
               floats({1, 2, 3}, {-0.1f, -0.2f, -0.3f, 4, -50, 6}), 1e-5, 1e-6);
  auto info = infer_single_node(make_node("PRelu"), {x, floats({3}, {1, 1, 1})});
  EXPECT_EQ(info[0].shape, (Shape{2, 3}));
  // The slope may not enlarge the input.
  EXPECT_THROW(infer_single_node(make_node("PRelu"),
                                 {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {2, 3})}),
               Error);
}

TEST(PRelu, FastMatchesReference) {
  Tensor x = random_f32({4, 16, 20, 20}, 12, -2, 2);
  for (Shape s : {Shape{16, 1, 1}, Shape{1}, Shape{20}, Shape{4, 16, 20, 20}}) {
    SCOPED_TRACE(shape_str(s));
    Tensor slope = random_f32(s, 13, 0, 1);
    auto fast = run_single_node(make_node("PRelu"), {x, slope}, KernelChoice::kFast);
    expect_close(fast.outputs[0], run_ref(make_node("PRelu"), {x, slope}), 1e-5, 1e-6);
    if (s.size() != 1 || s[0] == 1) {
      EXPECT_TRUE(fast.used_fast);
    }
  }
}

// ---- Where ----

TEST(Where, BroadcastsAllThree) {
  Tensor c(DType::kBool, {2, 1});
  c.ptr<bool>()[0] = true;
  c.ptr<bool>()[1] = false;
  Tensor x = floats({3}, {1, 2, 3});
  Tensor y = floats({}, {-1});
  auto info = infer_single_node(make_node("Where"), {c, x, y});
  EXPECT_EQ(info[0].shape, (Shape{2, 3}));
  expect_close(run_ref(make_node("Where"), {c, x, y}), floats({2, 3}, {1, 2, 3, -1, -1, -1}), 1e-5,
               1e-6);
  auto r = run_ref(make_node("Where"), {c, ints({1}, {5}), ints({3}, {7, 8, 9})});
  EXPECT_EQ(r.to_int64(), (std::vector<int64_t>{5, 5, 5, 7, 8, 9}));
  EXPECT_THROW(infer_single_node(make_node("Where"), {x, x, x}), Error);  // float condition
}

// The fast float32 Where against the reference over the broadcast patterns
// its specialised rows cover (and a strided one they do not).
TEST(Where, FastMatchesReference) {
  struct Case {
    Shape c, x, y;
  };
  std::vector<Case> cases = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 1, 4, 5}, {2, 3, 4, 5}, {}},
      {{1, 1, 1, 5}, {5}, {2, 3, 4, 5}},          {{2, 3, 4, 1}, {2, 3, 4, 5}, {2, 3, 1, 5}},
      {{2, 3, 4, 5}, {2, 3, 4, 1}, {1}},          {{5, 1}, {1, 4}, {5, 4}},
      {{3, 1, 6}, {3, 7, 1}, {1, 7, 6}},
  };
  uint32_t seed = 1;
  for (const Case& k : cases) {
    SCOPED_TRACE(shape_str(k.c) + " " + shape_str(k.x) + " " + shape_str(k.y));
    Tensor c(DType::kBool, k.c);
    std::mt19937 gen(seed++);
    for (int64_t i = 0; i < c.numel(); ++i) c.ptr<bool>()[i] = gen() % 2 == 0;
    Tensor x = random_f32(k.x, seed++, -1, 0), y = random_f32(k.y, seed++, 1, 2);
    auto fast = run_single_node(make_node("Where"), {c, x, y}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    expect_close(fast.outputs[0], run_ref(make_node("Where"), {c, x, y}), 0, 0);
  }
}

}  // namespace
}  // namespace save
