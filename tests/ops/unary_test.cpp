// Tests of the unary family: shape rules, reference kernels against values
// computed independently here, fast kernels against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::make_node;
using test::random_f32;

Tensor floats(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(std::move(shape), std::span<const float>(v));
}

void expect_close(const Tensor& got, const Tensor& want, float rtol = 1e-5f, float atol = 1e-6f) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  auto g = got.to_double(), w = want.to_double();
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << "at " << i;
      continue;
    }
    EXPECT_NEAR(g[i], w[i], atol + rtol * std::abs(w[i])) << "at " << i;
  }
}

Tensor ints64(Shape shape, std::vector<int64_t> v) {
  return Tensor::from<int64_t>(std::move(shape), std::span<const int64_t>(v));
}

Tensor run_ref(const Node& n, const std::vector<Tensor>& in, int64_t opset = 17) {
  return run_single_node(n, in, KernelChoice::kReference, opset).outputs.at(0);
}

// Reference kernel vs a scalar formula evaluated in double here.
void check_reference(const Node& n, const std::function<double(double)>& f, float lo, float hi,
                     float rtol = 1e-5f) {
  Tensor x = random_f32({3, 4, 5}, 7, lo, hi);
  Tensor want(DType::kF32, {3, 4, 5});
  for (int64_t i = 0; i < x.numel(); ++i)
    want.ptr<float>()[i] = static_cast<float>(f(x.ptr<float>()[i]));
  expect_close(run_ref(n, {x}), want, rtol, 1e-6f);
}

// Fast kernel vs reference on a tensor large enough to take the fast path.
void check_fast(const Node& n, float lo, float hi, float rtol = 1e-4f, float atol = 1e-5f) {
  Tensor x = random_f32({4, 16, 33, 33}, 11, lo, hi);
  auto fast = run_single_node(n, {x}, KernelChoice::kFast);
  EXPECT_TRUE(fast.used_fast) << n.op;
  expect_close(fast.outputs[0], run_ref(n, {x}), rtol, atol);
}

struct Case {
  std::string op;
  Attributes attrs;
  std::function<double(double)> f;
  float lo, hi;
};

std::vector<Case> float_cases() {
  Attributes leaky, elu, selu, hsig, gelu_tanh;
  leaky.set("alpha", 0.1f);
  elu.set("alpha", 2.0f);
  selu.set("alpha", 2.0f);
  selu.set("gamma", 3.0f);
  hsig.set("alpha", 0.5f);
  hsig.set("beta", 0.6f);
  gelu_tanh.set("approximate", std::string("tanh"));
  const double pi = 3.14159265358979323846;
  return {
      {"Abs", {}, [](double x) { return std::abs(x); }, -5, 5},
      {"Neg", {}, [](double x) { return -x; }, -5, 5},
      {"Exp", {}, [](double x) { return std::exp(x); }, -5, 5},
      {"Log", {}, [](double x) { return std::log(x); }, 0.01f, 10},
      {"Sqrt", {}, [](double x) { return std::sqrt(x); }, 0, 10},
      {"Erf", {}, [](double x) { return std::erf(x); }, -5, 5},
      {"Sigmoid", {}, [](double x) { return 1 / (1 + std::exp(-x)); }, -10, 10},
      {"Tanh", {}, [](double x) { return std::tanh(x); }, -5, 5},
      {"Relu", {}, [](double x) { return x > 0 ? x : 0; }, -5, 5},
      {"LeakyRelu", leaky, [](double x) { return x > 0 ? x : 0.1 * x; }, -5, 5},
      {"Elu", elu, [](double x) { return x > 0 ? x : 2.0 * (std::exp(x) - 1); }, -5, 5},
      {"Selu", selu, [](double x) { return x > 0 ? 3.0 * x : 3.0 * 2.0 * (std::exp(x) - 1); }, -5,
       5},
      {"Softplus", {}, [](double x) { return std::log(1 + std::exp(x)); }, -20, 20},
      {"Softsign", {}, [](double x) { return x / (1 + std::abs(x)); }, -5, 5},
      {"HardSigmoid", hsig, [](double x) { return std::clamp(0.5 * x + 0.6, 0.0, 1.0); }, -5, 5},
      {"HardSwish", {}, [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }, -5, 5},
      {"Gelu", {}, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -5, 5},
      {"Gelu", gelu_tanh,
       [pi](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
       },
       -5, 5},
  };
}

TEST(Unary, ShapeRuleKeepsShapeAndType) {
  for (const Case& c : float_cases()) {
    auto out = infer_single_node(make_node(c.op, c.attrs), {Tensor(DType::kF32, {2, 3, 4})});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dtype, DType::kF32) << c.op;
    EXPECT_EQ(out[0].shape, (Shape{2, 3, 4})) << c.op;
  }
  auto scalar = infer_single_node(make_node("Exp"), {Tensor(DType::kF64, {})});
  EXPECT_EQ(scalar[0].dtype, DType::kF64);
  EXPECT_TRUE(scalar[0].shape.empty());
}

TEST(Unary, ReferenceMatchesFormula) {
  for (const Case& c : float_cases()) {
    SCOPED_TRACE(c.op);
    check_reference(make_node(c.op, c.attrs), c.f, c.lo, c.hi);
  }
}

TEST(Unary, FastMatchesReference) {
  for (const Case& c : float_cases()) {
    SCOPED_TRACE(c.op);
    check_fast(make_node(c.op, c.attrs), c.lo, c.hi);
  }
}

TEST(Unary, CeluReferenceOnly) {
  Attributes a;
  a.set("alpha", 2.0f);
  Node n = make_node("Celu", a);
  check_reference(
      n, [](double x) { return x > 0 ? x : 2.0 * (std::exp(x / 2.0) - 1); }, -5, 5);
  EXPECT_FALSE(
      run_single_node(n, {random_f32({64, 128}, 7, -1, 1)}, KernelChoice::kFast).used_fast);
}

TEST(Unary, SmallTensorsUseTheReference) {
  auto r = run_single_node(make_node("Relu"), {floats({3}, {-1, 0, 2})}, KernelChoice::kFast);
  EXPECT_FALSE(r.used_fast);
  expect_close(r.outputs[0], floats({3}, {0, 0, 2}));
}

// LeakyRelu never runs the reference loop: a vectorised loop below oneDNN's
// threshold, oneDNN's eltwise above; both agree with the reference, NaN and
// signed zeros included.
TEST(Unary, LeakyReluFastAtEverySize) {
  Attributes a;
  a.set("alpha", 0.2f);
  Node n = make_node("LeakyRelu", a);
  for (int64_t len : {1, 7, 1000, 65535, 65536, 200000}) {
    SCOPED_TRACE(len);
    Tensor x = random_f32({len}, 5, -3, 3);
    x.ptr<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    if (len > 2) x.ptr<float>()[1] = -0.f;
    auto fast = run_single_node(n, {x}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    Tensor want = run_ref(n, {x});
    expect_close(fast.outputs[0], want, 1e-6f, 0.f);
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(std::signbit(fast.outputs[0].ptr<float>()[i]), std::signbit(want.ptr<float>()[i]))
          << "at " << i;
  }
}

TEST(Unary, IntegerAbsNegRelu) {
  std::vector<int64_t> v{-3, 0, 5, std::numeric_limits<int64_t>::min() + 1};
  Tensor x = Tensor::from<int64_t>({4}, v);
  auto abs = run_ref(make_node("Abs"), {x}).to_int64();
  auto neg = run_ref(make_node("Neg"), {x}).to_int64();
  auto relu = run_ref(make_node("Relu"), {x}).to_int64();
  EXPECT_EQ(abs, (std::vector<int64_t>{3, 0, 5, std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(neg, (std::vector<int64_t>{3, 0, -5, std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(relu, (std::vector<int64_t>{0, 0, 5, 0}));
  // The most negative value wraps, as in numpy (no signed overflow).
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(run_ref(make_node("Neg"), {ints64({1}, {lowest})}).to_int64()[0], lowest);
  EXPECT_EQ(run_ref(make_node("Abs"), {ints64({1}, {lowest})}).to_int64()[0], lowest);
}

TEST(Unary, RejectsWrongTypesAndAttributes) {
  EXPECT_THROW(infer_single_node(make_node("Exp"), {Tensor(DType::kI64, {3})}), Error);
  EXPECT_THROW(infer_single_node(make_node("Abs"), {Tensor(DType::kBool, {3})}), Error);
  Attributes bad;
  bad.set("approximate", std::string("fast"));
  EXPECT_THROW(infer_single_node(make_node("Gelu", bad), {Tensor(DType::kF32, {3})}), Error);
}

// ---- Clip ----

TEST(Clip, InputsFormOpset13) {
  Tensor x = floats({5}, {-3, -1, 0, 1, 3});
  Node n = make_node("Clip");
  expect_close(run_ref(n, {x, Tensor::scalar(-1.5f), Tensor::scalar(2.f)}),
               floats({5}, {-1.5f, -1, 0, 1, 2}));
  // Only max (min omitted).
  expect_close(run_ref(n, {x, Tensor{}, Tensor::scalar(0.5f)}),
               floats({5}, {-3, -1, 0, 0.5f, 0.5f}));
  // Neither: identity.
  expect_close(run_ref(n, {x}), x);
  // min > max gives max everywhere.
  expect_close(run_ref(n, {x, Tensor::scalar(2.f), Tensor::scalar(1.f)}),
               floats({5}, {1, 1, 1, 1, 1}));
}

TEST(Clip, AttributeFormOpset6) {
  Attributes a;
  a.set("min", -0.5f);
  a.set("max", 0.5f);
  expect_close(run_ref(make_node("Clip", a), {floats({3}, {-1, 0.25f, 1})}, 6),
               floats({3}, {-0.5f, 0.25f, 0.5f}));
}

TEST(Clip, IntegerTypes) {
  std::vector<int32_t> v{-100, 5, 100};
  auto y = run_ref(make_node("Clip"), {Tensor::from<int32_t>({3}, v), Tensor::scalar<int32_t>(0),
                                       Tensor::scalar<int32_t>(10)});
  EXPECT_EQ(y.to_int64(), (std::vector<int64_t>{0, 5, 10}));
}

TEST(Clip, FastMatchesReferenceAndSeesNewBounds) {
  Tensor x = random_f32({8, 1000}, 7, -5, 5);
  Node n = make_node("Clip");
  for (float hi : {1.f, 2.5f}) {
    auto fast =
        run_single_node(n, {x, Tensor::scalar(-1.f), Tensor::scalar(hi)}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast);
    expect_close(fast.outputs[0], run_ref(n, {x, Tensor::scalar(-1.f), Tensor::scalar(hi)}));
  }
}

TEST(Clip, RejectsNonScalarBound) {
  EXPECT_THROW(
      infer_single_node(make_node("Clip"), {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {2})}),
      Error);
}

// ---- Cast ----

Node cast_to(DType t) {
  Attributes a;
  a.set("to", static_cast<int64_t>(t));
  return make_node("Cast", a);
}

TEST(Cast, ShapeRule) {
  auto out = infer_single_node(cast_to(DType::kI64), {Tensor(DType::kF32, {2, 3})});
  EXPECT_EQ(out[0].dtype, DType::kI64);
  EXPECT_EQ(out[0].shape, (Shape{2, 3}));
}

TEST(Cast, Conversions) {
  Tensor x = floats({5}, {-2.7f, -0.5f, 0, 1.9f, 3e10f});  // 3e10f is 30000001024
  EXPECT_EQ(run_ref(cast_to(DType::kI64), {x}).to_int64(),
            (std::vector<int64_t>{-2, 0, 0, 1, 30000001024}));
  // Saturates instead of wrapping (undefined in C++).
  EXPECT_EQ(run_ref(cast_to(DType::kI32), {x}).to_int64().back(),
            std::numeric_limits<int32_t>::max());
  auto b = run_ref(cast_to(DType::kBool), {x});
  EXPECT_EQ(b.dtype(), DType::kBool);
  EXPECT_EQ(b.to_int64(), (std::vector<int64_t>{1, 1, 0, 1, 1}));
  auto d = run_ref(cast_to(DType::kF64), {x});
  EXPECT_DOUBLE_EQ(d.to_double()[0], static_cast<double>(-2.7f));
  std::vector<int64_t> iv{-1, 7};
  auto f = run_ref(cast_to(DType::kF32), {Tensor::from<int64_t>({2}, iv)});
  EXPECT_EQ(f.to_double(), (std::vector<double>{-1, 7}));
  auto same = run_ref(cast_to(DType::kF32), {x});
  expect_close(same, x);
}

TEST(Cast, CastLikeTakesTheSecondInputsType) {
  Tensor x = floats({2}, {1.5f, -2.5f});
  auto y = run_ref(make_node("CastLike"), {x, Tensor(DType::kI32, {})});
  EXPECT_EQ(y.dtype(), DType::kI32);
  EXPECT_EQ(y.to_int64(), (std::vector<int64_t>{1, -2}));
}

TEST(Cast, RejectsUnsupportedTarget) {
  Attributes a;
  a.set("to", int64_t{10});  // float16
  EXPECT_THROW(infer_single_node(make_node("Cast", a), {Tensor(DType::kF32, {2})}), Error);
}

// ---- Not, Identity, Dropout ----

TEST(Not, FlipsBools) {
  std::vector<uint8_t> raw{1, 0, 0, 1};
  Tensor x(DType::kBool, {2, 2});
  std::memcpy(x.data(), raw.data(), 4);
  auto y = run_ref(make_node("Not"), {x});
  EXPECT_EQ(y.dtype(), DType::kBool);
  EXPECT_EQ(y.to_int64(), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_THROW(infer_single_node(make_node("Not"), {Tensor(DType::kF32, {2})}), Error);
}

TEST(Identity, CopiesAnyType) {
  std::vector<int64_t> v{4, 5, 6};
  auto y = run_ref(make_node("Identity"), {Tensor::from<int64_t>({3}, v)});
  EXPECT_EQ(y.to_int64(), v);
}

TEST(Dropout, InferenceIsIdentityWithTrueMask) {
  Tensor x = random_f32({3, 4}, 7, -1, 1);
  auto r = run_single_node(make_node("Dropout"), {x, Tensor::scalar(0.5f)},
                           KernelChoice::kReference, 13, true, 2);
  ASSERT_EQ(r.outputs.size(), 2u);
  expect_close(r.outputs[0], x);
  EXPECT_EQ(r.outputs[1].dtype(), DType::kBool);
  for (int64_t v : r.outputs[1].to_int64()) EXPECT_EQ(v, 1);
  // Old opset: mask has the input's type.
  auto old = infer_single_node(make_node("Dropout"), {x}, 7, true, 2);
  EXPECT_EQ(old[1].dtype, DType::kF32);
  // One output only.
  auto one = infer_single_node(make_node("Dropout"), {x});
  EXPECT_EQ(one.size(), 1u);
}

TEST(Dropout, TrainingModeFails) {
  Tensor x(DType::kF32, {2});
  EXPECT_THROW(
      infer_single_node(make_node("Dropout"), {x, Tensor::scalar(0.5f), Tensor::scalar(true)}, 13),
      Error);
  EXPECT_NO_THROW(infer_single_node(make_node("Dropout"),
                                    {x, Tensor::scalar(0.5f), Tensor::scalar(false)}, 13));
}

}  // namespace
}  // namespace save
