// AveragePool, MaxPool, GlobalAveragePool, GlobalMaxPool, LRN: shape rules,
// reference kernels against hand-computed values, oneDNN kernels against the
// reference on random data, and the cases where the fast kernel must decline.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::iota_f32;
using test::make_node;
using test::random_f32;

void expect_values(const Tensor& t, const std::vector<float>& v) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(t.ptr<float>()[i], v[i], 1e-4f) << "at " << i;
}

// Runs both kernels, checks the fast one was used and agrees with the reference.
Tensor check_fast(const Node& node, const std::vector<Tensor>& in, size_t outputs = 0,
                  int64_t opset = 17) {
  auto ref = run_single_node(node, in, KernelChoice::kReference, opset, true, outputs);
  auto fast = run_single_node(node, in, KernelChoice::kFast, opset, false, outputs);
  EXPECT_TRUE(fast.used_fast) << node.op;
  for (size_t i = 0; i < ref.outputs.size(); ++i)
    if (ref.outputs[i].defined()) expect_close(fast.outputs[i], ref.outputs[i], 1e-4f, 1e-4f);
  return ref.outputs[0];
}

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}
using Ints = std::vector<int64_t>;

TEST(Pool, ShapeRule) {
  Tensor x(DType::kF32, {1, 3, 32, 32});
  auto k = [](Attributes a) { return a; };
  EXPECT_EQ(
      infer_single_node(
          make_node("MaxPool", k(attrs({{"kernel_shape", Ints{5, 5}}, {"strides", Ints{3, 3}}}))),
          {x})[0]
          .shape,
      (Shape{1, 3, 10, 10}));
  EXPECT_EQ(
      infer_single_node(make_node("AveragePool", attrs({{"kernel_shape", Ints{2, 2}},
                                                        {"auto_pad", std::string("SAME_LOWER")}})),
                        {x})[0]
          .shape,
      (Shape{1, 3, 32, 32}));
  // ceil_mode: 4 with kernel 3 stride 2 gives 2 windows (1 with floor).
  Tensor x4(DType::kF32, {1, 1, 4, 4});
  Attributes ceil = attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}});
  EXPECT_EQ(infer_single_node(make_node("MaxPool", ceil), {x4})[0].shape, (Shape{1, 1, 1, 1}));
  ceil.set("ceil_mode", int64_t{1});
  EXPECT_EQ(infer_single_node(make_node("MaxPool", ceil), {x4})[0].shape, (Shape{1, 1, 2, 2}));
  // ceil_mode never adds a window that starts in the end padding: with
  // kernel 2, stride 2 and end pad 1 a length 4 input has 2 windows, while a
  // length 5 input gets a third, partial one.
  Attributes edge = attrs({{"kernel_shape", Ints{2}},
                           {"strides", Ints{2}},
                           {"ceil_mode", int64_t{1}},
                           {"pads", Ints{0, 1}}});
  EXPECT_EQ(
      infer_single_node(make_node("MaxPool", edge), {Tensor(DType::kF32, {1, 1, 4})})[0].shape,
      (Shape{1, 1, 2}));
  EXPECT_EQ(
      infer_single_node(make_node("MaxPool", edge), {Tensor(DType::kF32, {1, 1, 5})})[0].shape,
      (Shape{1, 1, 3}));
  // Indices output.
  auto mi = infer_single_node(make_node("MaxPool", attrs({{"kernel_shape", Ints{2}}})),
                              {Tensor(DType::kF32, {2, 3, 8})}, 17, true, 2);
  ASSERT_EQ(mi.size(), 2u);
  EXPECT_EQ(mi[1].dtype, DType::kI64);
  EXPECT_EQ(mi[1].shape, (Shape{2, 3, 7}));
  EXPECT_EQ(
      infer_single_node(make_node("GlobalAveragePool"), {Tensor(DType::kF32, {2, 3, 4, 5, 6})})[0]
          .shape,
      (Shape{2, 3, 1, 1, 1}));
}

TEST(Pool, ShapeErrors) {
  Tensor x(DType::kF32, {1, 3, 8, 8});
  EXPECT_THROW(infer_single_node(make_node("MaxPool"), {x}), Error);  // kernel_shape missing
  EXPECT_THROW(
      infer_single_node(
          make_node("AveragePool", attrs({{"kernel_shape", Ints{2, 2}}, {"pads", Ints{1, 1}}})),
          {x}),
      Error);
  EXPECT_THROW(
      infer_single_node(make_node("AveragePool", attrs({{"kernel_shape", Ints{9, 9}}})), {x}),
      Error);
  EXPECT_THROW(infer_single_node(make_node("LRN"), {x}), Error);  // size missing
}

TEST(Pool, ReferenceValues) {
  Tensor x = iota_f32({1, 1, 4, 4}, 1.f);  // 1..16
  Attributes ceil =
      attrs({{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}});
  expect_values(
      run_single_node(make_node("AveragePool", ceil), {x}, KernelChoice::kReference).outputs[0],
      {6, 7.5, 12, 13.5});
  expect_values(
      run_single_node(make_node("MaxPool", ceil), {x}, KernelChoice::kReference).outputs[0],
      {11, 12, 15, 16});
  expect_values(
      run_single_node(
          make_node("MaxPool", attrs({{"kernel_shape", Ints{2, 2}}, {"dilations", Ints{2, 2}}})),
          {x}, KernelChoice::kReference)
          .outputs[0],
      {11, 12, 15, 16});
  // 5x5 of 1..25 with a 5x5 window and pads 2: the corner window covers
  // 1+2+3+6+7+8+11+12+13 = 63 over 9 inputs, or over 25 counting the pads.
  Tensor x5 = iota_f32({1, 1, 5, 5}, 1.f);
  Attributes pads = attrs({{"kernel_shape", Ints{5, 5}}, {"pads", Ints{2, 2, 2, 2}}});
  auto ex = run_single_node(make_node("AveragePool", pads), {x5}, KernelChoice::kReference);
  EXPECT_FLOAT_EQ(ex.outputs[0].ptr<float>()[0], 7.0f);
  EXPECT_FLOAT_EQ(ex.outputs[0].ptr<float>()[12], 13.0f);
  pads.set("count_include_pad", int64_t{1});
  auto inc = run_single_node(make_node("AveragePool", pads), {x5}, KernelChoice::kReference);
  EXPECT_FLOAT_EQ(inc.outputs[0].ptr<float>()[0], 63.0f / 25.0f);
  EXPECT_FLOAT_EQ(inc.outputs[0].ptr<float>()[12], 13.0f);
}

TEST(Pool, MaxPoolIndices) {
  Tensor x = iota_f32({1, 1, 4, 4}, 1.f);
  Attributes a = attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
  auto r = run_single_node(make_node("MaxPool", a), {x}, KernelChoice::kReference, 17, true, 2);
  expect_values(r.outputs[0], {6, 8, 14, 16});
  EXPECT_EQ(r.outputs[1].to_int64(), (std::vector<int64_t>{5, 7, 13, 15}));
  a.set("storage_order", int64_t{1});
  auto c = run_single_node(make_node("MaxPool", a), {x}, KernelChoice::kReference, 17, true, 2);
  EXPECT_EQ(c.outputs[1].to_int64(), (std::vector<int64_t>{5, 13, 7, 15}));
  // Indices count the batch and channel offsets too.
  auto b = run_single_node(make_node("MaxPool", attrs({{"kernel_shape", Ints{2}}})),
                           {iota_f32({2, 1, 3}, 1.f)}, KernelChoice::kReference, 17, true, 2);
  EXPECT_EQ(b.outputs[1].to_int64(), (std::vector<int64_t>{1, 2, 4, 5}));
  // The fast kernel declines when Indices is wanted.
  auto f = run_single_node(make_node("MaxPool", a), {x}, KernelChoice::kFast, 17, true, 2);
  EXPECT_FALSE(f.used_fast);
  EXPECT_EQ(f.outputs[1].to_int64(), (std::vector<int64_t>{5, 13, 7, 15}));
}

TEST(Pool, FastMatchesReference) {
  Tensor x = random_f32({2, 5, 13, 11}, 1);
  const std::vector<Attributes> cases = {
      attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 1, 1, 1}}}),
      attrs({{"kernel_shape", Ints{3, 2}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t{1}}}),
      attrs({{"kernel_shape", Ints{3, 3}},
             {"strides", Ints{2, 2}},
             {"pads", Ints{0, 1, 1, 0}},
             {"ceil_mode", int64_t{1}}}),
      attrs({{"kernel_shape", Ints{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}}),
      attrs({{"kernel_shape", Ints{3, 3}},
             {"strides", Ints{2, 2}},
             {"auto_pad", std::string("SAME_UPPER")}}),
      attrs({{"kernel_shape", Ints{3, 3}},
             {"pads", Ints{2, 2, 2, 2}},
             {"count_include_pad", int64_t{1}}}),
  };
  for (const Attributes& a : cases) {
    check_fast(make_node("AveragePool", a), {x});
    check_fast(make_node("MaxPool", a), {x});
  }
  check_fast(make_node("MaxPool", attrs({{"kernel_shape", Ints{2, 3}},
                                         {"dilations", Ints{2, 2}},
                                         {"pads", Ints{1, 1, 1, 1}}})),
             {x});
  check_fast(make_node("AveragePool", attrs({{"kernel_shape", Ints{2}}})),
             {random_f32({1, 3, 32}, 2)});
  Tensor x3 = random_f32({1, 3, 6, 7, 8}, 3);
  check_fast(make_node("MaxPool", attrs({{"kernel_shape", Ints{2, 2, 2}}})), {x3});
  check_fast(make_node("AveragePool",
                       attrs({{"kernel_shape", Ints{3, 2, 3}}, {"pads", Ints{1, 0, 1, 1, 1, 0}}})),
             {x3});
  check_fast(make_node("GlobalAveragePool"), {x});
  check_fast(make_node("GlobalMaxPool"), {x});
  check_fast(make_node("GlobalAveragePool"), {x3});
}

TEST(Pool, FastDeclinesIncludePadWithCeil) {
  // count_include_pad with a partial ceil_mode window: ONNX divides by the
  // window clipped to the padded input, oneDNN would divide by the kernel.
  Node n = make_node("AveragePool", attrs({{"kernel_shape", Ints{3}},
                                           {"strides", Ints{2}},
                                           {"pads", Ints{1, 1}},
                                           {"ceil_mode", int64_t{1}},
                                           {"count_include_pad", int64_t{1}}}));
  Tensor x = iota_f32({1, 1, 6}, 1.f);  // padded: 0 1 2 3 4 5 6 0; windows start at -1, 1, 3, 5
  auto f = run_single_node(n, {x}, KernelChoice::kFast);
  EXPECT_FALSE(f.used_fast);
  // The last window covers 6, the pad and the ceil extension: 6 / 2.
  expect_values(f.outputs[0], {1, 3, 5, 3});
}

TEST(Pool, Global) {
  Tensor x = iota_f32({1, 2, 2, 2}, 1.f);
  expect_values(
      run_single_node(make_node("GlobalAveragePool"), {x}, KernelChoice::kReference).outputs[0],
      {2.5, 6.5});
  expect_values(
      run_single_node(make_node("GlobalMaxPool"), {x}, KernelChoice::kReference).outputs[0],
      {4, 8});
}

TEST(Lrn, Reference) {
  // alpha / size = 1, beta = 1, bias = 1: y = x / (1 + sum of squares).
  Tensor x = iota_f32({1, 3, 1, 1}, 1.f);  // 1, 2, 3
  auto r = run_single_node(
      make_node("LRN",
                attrs({{"size", int64_t{3}}, {"alpha", 3.0f}, {"beta", 1.0f}, {"bias", 1.0f}})),
      {x}, KernelChoice::kReference);
  expect_values(r.outputs[0], {1.0f / 6, 2.0f / 15, 3.0f / 14});
  // Even size: the window reaches one channel further up than down.
  auto e = run_single_node(
      make_node("LRN",
                attrs({{"size", int64_t{2}}, {"alpha", 3.0f}, {"beta", 1.0f}, {"bias", 1.0f}})),
      {x}, KernelChoice::kReference);
  expect_values(e.outputs[0], {1.0f / 8.5f, 2.0f / 20.5f, 3.0f / 14.5f});
  EXPECT_FALSE(
      run_single_node(make_node("LRN", attrs({{"size", int64_t{2}}})), {x}, KernelChoice::kFast)
          .used_fast);
}

TEST(Lrn, FastMatchesReference) {
  check_fast(make_node("LRN", attrs({{"size", int64_t{3}}})), {random_f32({5, 5, 5, 5}, 4)});
  check_fast(
      make_node("LRN",
                attrs({{"size", int64_t{5}}, {"alpha", 2e-4f}, {"beta", 0.5f}, {"bias", 2.0f}})),
      {random_f32({2, 16, 7, 9}, 5)});
}

}  // namespace
}  // namespace save
