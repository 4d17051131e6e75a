// Reductions (axes as attribute or input, keepdims, noop_with_empty_axes),
// ArgMax/ArgMin, CumSum and TopK: shape rules, reference kernels against
// hand-computed values, oneDNN reductions against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::make_node;
using test::random_f32;

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(shape, v);
}
Tensor i64(Shape shape, std::vector<int64_t> v) {
  return Tensor::from<int64_t>(shape, v);
}

// x = [[1, 2], [3, 4]] stacked three times with offsets 0, 10, 20: shape [3,2,2].
Tensor sample() {
  return f32({3, 2, 2}, {1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24});
}

TEST(Reduce, ShapeRule) {
  auto keep = make_node("ReduceMax", attrs({{"axes", std::vector<int64_t>{1}}}));
  EXPECT_EQ(infer_single_node(keep, {sample()}).at(0).shape, (Shape{3, 1, 2}));
  auto drop = make_node("ReduceMean",
                        attrs({{"axes", std::vector<int64_t>{-2, 0}}, {"keepdims", int64_t{0}}}));
  EXPECT_EQ(infer_single_node(drop, {sample()}).at(0).shape, (Shape{2}));
  auto all = make_node("ReduceSum", attrs({{"keepdims", int64_t{0}}}));
  EXPECT_EQ(infer_single_node(all, {sample()}).at(0).shape, (Shape{}));
  // Axes as input (ReduceSum from opset 13; the others from 18).
  auto sum = make_node("ReduceSum");
  EXPECT_EQ(infer_single_node(sum, {sample(), i64({1}, {2})}).at(0).shape, (Shape{3, 2, 1}));
  EXPECT_EQ(infer_single_node(make_node("ReduceMax"), {sample(), i64({1}, {0})}).at(0).shape,
            (Shape{1, 2, 2}));
  auto noop = make_node("ReduceSum", attrs({{"noop_with_empty_axes", int64_t{1}}}));
  EXPECT_EQ(infer_single_node(noop, {sample(), i64({0}, {})}).at(0).shape, (Shape{3, 2, 2}));
}

TEST(Reduce, BadAxesThrow) {
  auto bad = make_node("ReduceMax", attrs({{"axes", std::vector<int64_t>{3}}}));
  EXPECT_THROW(infer_single_node(bad, {sample()}), Error);
  auto twice = make_node("ReduceSum", attrs({{"axes", std::vector<int64_t>{1, -2}}}));
  EXPECT_THROW(infer_single_node(twice, {sample()}), Error);
  // Axes given as a run-time input cannot be planned.
  EXPECT_THROW(infer_single_node(make_node("ReduceSum"), {sample(), i64({1}, {0})}, 17, false),
               Error);
}

TEST(Reduce, ReferenceHandComputed) {
  auto run = [](const char* op, Attributes a, std::vector<Tensor> in) {
    return run_single_node(make_node(op, std::move(a)), in, KernelChoice::kReference).outputs[0];
  };
  const auto ax1 = std::vector<int64_t>{1};
  expect_close(run("ReduceMax", attrs({{"axes", ax1}}), {sample()}),
               f32({3, 1, 2}, {3, 4, 13, 14, 23, 24}), 0.0, 0);
  expect_close(run("ReduceMean", attrs({{"axes", ax1}, {"keepdims", int64_t{0}}}), {sample()}),
               f32({3, 2}, {2, 3, 12, 13, 22, 23}), 0.0, 0);
  expect_close(run("ReduceSum", {}, {sample(), i64({1}, {-3})}), f32({1, 2, 2}, {33, 36, 39, 42}),
               0.0, 0);
  expect_close(run("ReduceSum", {}, {sample()}), f32({1, 1, 1}, {150}), 0.0, 0);
  expect_close(
      run("ReduceSum", attrs({{"noop_with_empty_axes", int64_t{1}}}), {sample(), i64({0}, {})}),
      sample(), 0.0, 0);
  expect_close(run("ReduceMin", attrs({{"axes", std::vector<int64_t>{0, 2}}}), {sample()}),
               f32({1, 2, 1}, {1, 3}), 0.0, 0);
  expect_close(run("ReduceProd", attrs({{"axes", std::vector<int64_t>{2}}}), {sample()}),
               f32({3, 2, 1}, {2, 12, 132, 182, 462, 552}), 0.0, 0);
  expect_close(run("ReduceL2", attrs({{"axes", std::vector<int64_t>{1}}}), {f32({1, 2}, {3, 4})}),
               f32({1, 1}, {5}), 0.0, 1e-6);
  // Integers reduce exactly.
  auto r =
      run("ReduceSum", attrs({{"axes", std::vector<int64_t>{0}}}), {i64({2, 2}, {1, 2, 3, 4})});
  EXPECT_EQ(r.to_int64(), (std::vector<int64_t>{4, 6}));
  // fuzz_model: log(0) = -inf cast to an integer was UB; saturated instead,
  // and a mean over no elements (NaN) is 0.
  EXPECT_EQ(run("ReduceLogSum", {}, {i64({2}, {0, 0})}).to_int64(),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::lowest()}));
  EXPECT_EQ(
      run("ReduceMean", attrs({{"axes", std::vector<int64_t>{0}}}), {i64({0, 2}, {})}).to_int64(),
      (std::vector<int64_t>{0, 0}));
}

TEST(Reduce, FastMatchesReference) {
  struct Case {
    const char* op;
    Shape shape;
    std::vector<int64_t> axes;
    int64_t keepdims;
  };
  const std::vector<Case> cases = {
      {"ReduceMean", {2, 50, 128}, {-1}, 1},  // decomposed LayerNorm
      {"ReduceMean", {2, 16, 7, 7}, {2, 3}, 0}, {"ReduceMax", {3, 2, 2}, {1}, 1},
      {"ReduceMax", {3, 2, 2}, {}, 1},          {"ReduceSum", {4, 5, 6}, {0, 2}, 0},
      {"ReduceSum", {4, 5, 6}, {1}, 1},         {"ReduceMin", {4, 5, 6}, {2}, 1},
      {"ReduceSumSquare", {4, 5, 6}, {1}, 1},   {"ReduceL2", {4, 5, 6}, {1, 2}, 0},
  };
  for (const Case& c : cases) {
    Attributes a = attrs({{"keepdims", c.keepdims}});
    if (!c.axes.empty()) a.set("axes", c.axes);
    auto node = make_node(c.op, a);
    Tensor x = random_f32(c.shape, 7, -2.f, 2.f);
    auto ref = run_single_node(node, {x}, KernelChoice::kReference);
    auto fast = run_single_node(node, {x}, KernelChoice::kFast);
    EXPECT_TRUE(fast.used_fast) << c.op << " " << shape_str(c.shape);
    expect_close(fast.outputs[0], ref.outputs[0], 0.0, 1e-4);
  }
  // ReduceSum with constant axes input.
  auto node = make_node("ReduceSum", attrs({{"keepdims", int64_t{0}}}));
  Tensor x = random_f32({3, 4, 5}, 8, -2.f, 2.f);
  auto ref = run_single_node(node, {x, i64({1}, {1})}, KernelChoice::kReference);
  auto fast = run_single_node(node, {x, i64({1}, {1})}, KernelChoice::kFast);
  EXPECT_TRUE(fast.used_fast);
  expect_close(fast.outputs[0], ref.outputs[0], 0.0, 1e-4);
}

// ------------------------------------------------------------------ ArgMax

TEST(ArgMax, ShapeRuleAndValues) {
  Tensor x = f32({2, 3}, {1, 5, 5, 7, 2, 7});
  auto node = make_node("ArgMax", attrs({{"axis", int64_t{1}}, {"keepdims", int64_t{0}}}));
  auto info = infer_single_node(node, {x});
  EXPECT_EQ(info.at(0).shape, (Shape{2}));
  EXPECT_EQ(info.at(0).dtype, DType::kI64);
  auto r = run_single_node(node, {x}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{1, 0}));
  auto last =
      make_node("ArgMax", attrs({{"axis", int64_t{-1}}, {"select_last_index", int64_t{1}}}));
  r = run_single_node(last, {x}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{2, 2}));
  r = run_single_node(make_node("ArgMax"), {x}, KernelChoice::kReference);  // axis 0
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{1, 0, 1}));
  r = run_single_node(make_node("ArgMin", attrs({{"axis", int64_t{1}}})), {x},
                      KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{0, 1}));
  EXPECT_THROW(infer_single_node(make_node("ArgMax", attrs({{"axis", int64_t{2}}})), {x}), Error);
}

// ------------------------------------------------------------------ CumSum

TEST(CumSum, Values) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto run = [&](Tensor axis, Attributes a) {
    auto node = make_node("CumSum", std::move(a));
    EXPECT_EQ(infer_single_node(node, {x, axis}).at(0).shape, (Shape{2, 3}));
    return run_single_node(node, {x, axis}, KernelChoice::kReference).outputs[0];
  };
  expect_close(run(i64({}, {1}), {}), f32({2, 3}, {1, 3, 6, 4, 9, 15}), 0.0, 0);
  expect_close(run(i64({}, {0}), {}), f32({2, 3}, {1, 2, 3, 5, 7, 9}), 0.0, 0);
  expect_close(run(Tensor::scalar<int32_t>(-1), attrs({{"exclusive", int64_t{1}}})),
               f32({2, 3}, {0, 1, 3, 0, 4, 9}), 0.0, 0);
  expect_close(run(i64({}, {1}), attrs({{"reverse", int64_t{1}}})),
               f32({2, 3}, {6, 5, 3, 15, 11, 6}), 0.0, 0);
  expect_close(run(i64({}, {1}), attrs({{"reverse", int64_t{1}}, {"exclusive", int64_t{1}}})),
               f32({2, 3}, {5, 3, 0, 11, 6, 0}), 0.0, 0);
  EXPECT_THROW(infer_single_node(make_node("CumSum"), {x, i64({}, {2})}), Error);
}

// -------------------------------------------------------------------- TopK

TEST(TopK, Values) {
  Tensor x = f32({2, 4}, {1, 3, 3, 2, 4, 0, 5, 5});
  auto node = make_node("TopK", attrs({{"axis", int64_t{1}}}));
  auto info = infer_single_node(node, {x, i64({1}, {2})});
  ASSERT_EQ(info.size(), 2u);
  EXPECT_EQ(info[0].shape, (Shape{2, 2}));
  EXPECT_EQ(info[1].dtype, DType::kI64);
  auto r = run_single_node(node, {x, i64({1}, {2})}, KernelChoice::kReference);
  // Ties: the lower index comes first.
  expect_close(r.outputs[0], f32({2, 2}, {3, 3, 5, 5}), 0.0, 0);
  EXPECT_EQ(r.outputs[1].to_int64(), (std::vector<int64_t>{1, 2, 2, 3}));
  auto small = make_node("TopK", attrs({{"largest", int64_t{0}}}));
  r = run_single_node(small, {x, i64({1}, {3})}, KernelChoice::kReference);
  expect_close(r.outputs[0], f32({2, 3}, {1, 2, 3, 0, 4, 5}), 0.0, 0);
  EXPECT_EQ(r.outputs[1].to_int64(), (std::vector<int64_t>{0, 3, 1, 1, 0, 2}));
  // Along axis 0.
  auto col = make_node("TopK", attrs({{"axis", int64_t{0}}}));
  r = run_single_node(col, {x, i64({1}, {1})}, KernelChoice::kReference);
  expect_close(r.outputs[0], f32({1, 4}, {4, 3, 5, 5}), 0.0, 0);
  EXPECT_EQ(r.outputs[1].to_int64(), (std::vector<int64_t>{1, 0, 1, 1}));
  // Opset < 10: K is an attribute.
  auto old = make_node("TopK", attrs({{"k", int64_t{1}}}));
  EXPECT_EQ(infer_single_node(old, {x}, 9).at(0).shape, (Shape{2, 1}));
  EXPECT_THROW(infer_single_node(node, {x, i64({1}, {5})}), Error);
}

}  // namespace
}  // namespace save
