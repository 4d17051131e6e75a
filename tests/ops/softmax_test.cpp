// Softmax and LogSoftmax: both axis semantics (opset >= 13 single axis,
// opset < 13 coerce-to-2D), reference against hand-computed values, the
// oneDNN kernel against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::random_f32;

Node make_node(const std::string& op, std::optional<int64_t> axis = std::nullopt) {
  Node n;
  n.name = "n0";
  n.op = op;
  if (axis) n.attrs.set("axis", *axis);
  return n;
}

Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(shape, v);
}

TEST(Softmax, ShapeRule) {
  auto out = infer_single_node(make_node("Softmax", 1), {Tensor(DType::kF32, {3, 4, 5})});
  EXPECT_EQ(out.at(0).shape, (Shape{3, 4, 5}));
  EXPECT_EQ(out.at(0).dtype, DType::kF32);
  EXPECT_THROW(infer_single_node(make_node("Softmax", 3), {Tensor(DType::kF32, {3, 4, 5})}), Error);
  EXPECT_THROW(infer_single_node(make_node("LogSoftmax", -4), {Tensor(DType::kF32, {3, 4, 5})}),
               Error);
  EXPECT_THROW(infer_single_node(make_node("Softmax"), {Tensor(DType::kI64, {3})}), Error);
}

TEST(Softmax, ReferenceHandComputed) {
  // The "large number" case: exp must not overflow.
  Tensor x = f32({2, 4}, {0, 1, 2, 3, 10000, 10001, 10002, 10003});
  auto r = run_single_node(make_node("Softmax"), {x}, KernelChoice::kReference);
  const double e0 = 1, e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0);
  const double s = e0 + e1 + e2 + e3;
  std::vector<float> row = {float(e0 / s), float(e1 / s), float(e2 / s), float(e3 / s)};
  expect_close(r.outputs[0],
               f32({2, 4}, {row[0], row[1], row[2], row[3], row[0], row[1], row[2], row[3]}), 0.0,
               1e-6);
  auto l =
      run_single_node(make_node("LogSoftmax"), {f32({1, 3}, {-1, 0, 1})}, KernelChoice::kReference);
  const double lse = std::log(std::exp(-1.0) + 1 + std::exp(1.0));
  expect_close(l.outputs[0], f32({1, 3}, {float(-1 - lse), float(-lse), float(1 - lse)}), 0.0,
               1e-6);
}

TEST(Softmax, AxisSemanticsDependOnOpset) {
  Tensor x = random_f32({2, 3, 4}, 1, -3.f, 3.f);
  // Opset 13: axis=1 normalises each [3] column; sums over axis 1 are 1.
  auto r13 = run_single_node(make_node("Softmax", 1), {x}, KernelChoice::kReference, 13);
  const float* y = r13.outputs[0].ptr<float>();
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 4; ++c) {
      double s = 0;
      for (int b = 0; b < 3; ++b) s += y[(a * 3 + b) * 4 + c];
      EXPECT_NEAR(s, 1.0, 1e-6);
    }
  // Opset 11: axis=1 coerces to [2, 12]; each row of 12 sums to 1.
  auto r11 = run_single_node(make_node("Softmax", 1), {x}, KernelChoice::kReference, 11);
  y = r11.outputs[0].ptr<float>();
  for (int a = 0; a < 2; ++a) {
    double s = 0;
    for (int j = 0; j < 12; ++j) s += y[a * 12 + j];
    EXPECT_NEAR(s, 1.0, 1e-6);
  }
  // Default axis before 13 is 1 (same as above), from 13 on it is -1.
  auto d11 = run_single_node(make_node("Softmax"), {x}, KernelChoice::kReference, 11);
  expect_close(d11.outputs[0], r11.outputs[0], 0.0, 0);
  auto d13 = run_single_node(make_node("Softmax"), {x}, KernelChoice::kReference, 13);
  auto last = run_single_node(make_node("Softmax", 2), {x}, KernelChoice::kReference, 13);
  expect_close(d13.outputs[0], last.outputs[0], 0.0, 0);
}

TEST(Softmax, FastMatchesReference) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    for (int64_t opset : {11, 13}) {
      for (int64_t axis : {0, 1, 2, -1}) {
        Tensor x = random_f32({3, 4, 50}, static_cast<uint32_t>(axis + 10 * opset), -3.f, 3.f);
        auto node = make_node(op, axis);
        auto ref = run_single_node(node, {x}, KernelChoice::kReference, opset);
        auto fast = run_single_node(node, {x}, KernelChoice::kFast, opset);
        EXPECT_TRUE(fast.used_fast) << op << " opset " << opset << " axis " << axis;
        expect_close(fast.outputs[0], ref.outputs[0], 0.0, 1e-5);
      }
    }
  }
  // Attention-sized scores.
  Tensor x = random_f32({2, 4, 50, 50}, 99, -3.f, 3.f);
  auto ref = run_single_node(make_node("Softmax"), {x}, KernelChoice::kReference);
  auto fast = run_single_node(make_node("Softmax"), {x}, KernelChoice::kFast);
  EXPECT_TRUE(fast.used_fast);
  expect_close(fast.outputs[0], ref.outputs[0], 0.0, 1e-6);
}

TEST(Softmax, Float64Reference) {
  Tensor x = Tensor::from<double>({2}, std::vector<double>{0, 0});
  auto r = run_single_node(make_node("Softmax"), {x}, KernelChoice::kFast);
  EXPECT_FALSE(r.used_fast);
  EXPECT_EQ(r.outputs[0].to_double(), (std::vector<double>{0.5, 0.5}));
}

}  // namespace
}  // namespace save
