// Shape-family ops: shape rules (incl. old-opset attribute forms), reference
// kernels against hand-computed values, Transpose's oneDNN kernel against the
// reference and an independent index computation.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::iota_f32;
using test::make_node;
using test::random_f32;
using test::vals;

Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(shape, v);
}
Tensor i64(Shape shape, std::vector<int64_t> v) {
  return Tensor::from<int64_t>(shape, v);
}
Tensor i64v(std::vector<int64_t> v) {
  return i64({static_cast<int64_t>(v.size())}, v);
}

TEST(Shape, WholeAndSliced) {
  Tensor x(DType::kF32, {3, 4, 5});
  auto r = run_single_node(make_node("Shape"), {x}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].dtype(), DType::kI64);
  EXPECT_EQ(vals<int64_t>(r.outputs[0]), (std::vector<int64_t>{3, 4, 5}));
  Node n = make_node("Shape");
  n.attrs.set("start", int64_t{-10});
  n.attrs.set("end", int64_t{-1});
  r = run_single_node(n, {x}, KernelChoice::kReference, 15);
  EXPECT_EQ(vals<int64_t>(r.outputs[0]), (std::vector<int64_t>{3, 4}));
  n.attrs.set("start", int64_t{2});
  n.attrs.set("end", int64_t{1});
  EXPECT_EQ(infer_single_node(n, {x}, 15).at(0).shape, (Shape{0}));
  EXPECT_TRUE(find_op("Shape")->shape_only);
}

TEST(Reshape, ShapeRule) {
  Tensor x(DType::kF32, {2, 3, 4});
  auto shape_of = [&](std::vector<int64_t> s, bool allowzero = false) {
    Node n = make_node("Reshape");
    if (allowzero) n.attrs.set("allowzero", int64_t{1});
    return infer_single_node(n, {x, i64v(s)}, 14).at(0).shape;
  };
  EXPECT_EQ(shape_of({2, -1, 2}), (Shape{2, 6, 2}));
  EXPECT_EQ(shape_of({2, 0, 1, -1}), (Shape{2, 3, 1, 4}));
  EXPECT_EQ(shape_of({-1}), (Shape{24}));
  Tensor empty(DType::kF32, {0, 3, 4});
  Node az = make_node("Reshape");
  az.attrs.set("allowzero", int64_t{1});
  EXPECT_EQ(infer_single_node(az, {empty, i64v({3, 4, 0})}, 14).at(0).shape, (Shape{3, 4, 0}));
  EXPECT_THROW(shape_of({5, -1}), Error);
  EXPECT_THROW(shape_of({-1, -1}), Error);
  EXPECT_THROW(shape_of({2, 3, 5}), Error);
  // fuzz_model: a product past 2^63 (with a -1, so no element count
  // check after it) is refused, not wrapped.
  try {
    shape_of({0, 121, int64_t{1} << 57, -1});
    ADD_FAILURE() << "an overflowing target shape was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 2^63"), std::string::npos) << e.what();
  }
  // Reshape-1: the shape is an attribute.
  Node old = make_node("Reshape");
  old.attrs.set("shape", std::vector<int64_t>{4, 6});
  EXPECT_EQ(infer_single_node(old, {x}, 4).at(0).shape, (Shape{4, 6}));
  // A shape input that is not a plan-time constant is an error.
  EXPECT_THROW(infer_single_node(make_node("Reshape"), {x, i64v({24})}, 14, false), Error);
}

TEST(Reshape, CopiesBytes) {
  Tensor x = iota_f32({2, 3});
  auto r = run_single_node(make_node("Reshape"), {x, i64v({3, 2})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(vals<float>(r.outputs[0]), vals<float>(x));
}

TEST(Flatten, Axes) {
  Tensor x = iota_f32({2, 3, 4, 5});
  auto flat = [&](int64_t axis) {
    Node n = make_node("Flatten");
    n.attrs.set("axis", axis);
    return infer_single_node(n, {x}).at(0).shape;
  };
  EXPECT_EQ(flat(0), (Shape{1, 120}));
  EXPECT_EQ(flat(2), (Shape{6, 20}));
  EXPECT_EQ(flat(4), (Shape{120, 1}));
  EXPECT_EQ(flat(-1), (Shape{24, 5}));
  EXPECT_EQ(flat(-4), (Shape{1, 120}));
  EXPECT_EQ(infer_single_node(make_node("Flatten"), {x}).at(0).shape, (Shape{2, 60}));
  EXPECT_THROW(flat(5), Error);
  auto r = run_single_node(make_node("Flatten"), {x}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]), vals<float>(x));
}

TEST(Squeeze, InputAndAttributeAxes) {
  Tensor x(DType::kF32, {1, 3, 1, 5});
  EXPECT_EQ(infer_single_node(make_node("Squeeze"), {x, i64v({-2})}).at(0).shape, (Shape{1, 3, 5}));
  EXPECT_EQ(infer_single_node(make_node("Squeeze"), {x}).at(0).shape, (Shape{3, 5}));
  Node old = make_node("Squeeze");
  old.attrs.set("axes", std::vector<int64_t>{0});
  EXPECT_EQ(infer_single_node(old, {x}, 11).at(0).shape, (Shape{3, 1, 5}));
  EXPECT_THROW(infer_single_node(make_node("Squeeze"), {x, i64v({1})}), Error);
  EXPECT_THROW(infer_single_node(make_node("Squeeze"), {x, i64v({4})}), Error);
}

TEST(Unsqueeze, InputAndAttributeAxes) {
  Tensor x = iota_f32({3, 4, 5});
  EXPECT_EQ(infer_single_node(make_node("Unsqueeze"), {x, i64v({5, 4, 2})}).at(0).shape,
            (Shape{3, 4, 1, 5, 1, 1}));
  EXPECT_EQ(infer_single_node(make_node("Unsqueeze"), {x, i64v({-1})}).at(0).shape,
            (Shape{3, 4, 5, 1}));
  Node old = make_node("Unsqueeze");
  old.attrs.set("axes", std::vector<int64_t>{0, 3});
  auto r = run_single_node(old, {x}, KernelChoice::kReference, 11);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{1, 3, 4, 1, 5}));
  EXPECT_EQ(vals<float>(r.outputs[0]), vals<float>(x));
  EXPECT_THROW(infer_single_node(make_node("Unsqueeze"), {x, i64v({1, 1})}), Error);
  EXPECT_THROW(infer_single_node(make_node("Unsqueeze"), {x}), Error);
}

// out[o] = in[i] with i[perm[k]] = o[k], by plain index arithmetic.
Tensor naive_transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape os(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) os[k] = x.shape()[static_cast<size_t>(perm[k])];
  Tensor out(x.dtype(), os);
  auto is = shape_strides(x.shape());
  auto ostr = shape_strides(os);
  size_t esz = dtype_size(x.dtype());
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t rem = o, src = 0;
    for (size_t k = 0; k < perm.size(); ++k) {
      int64_t ok = rem / ostr[k];
      rem %= ostr[k];
      src += ok * is[static_cast<size_t>(perm[k])];
    }
    std::memcpy(static_cast<std::byte*>(out.data()) + o * static_cast<int64_t>(esz),
                static_cast<const std::byte*>(x.data()) + src * static_cast<int64_t>(esz), esz);
  }
  return out;
}

TEST(Transpose, ShapeRuleAndDefault) {
  Tensor x(DType::kF32, {2, 3, 4});
  EXPECT_EQ(infer_single_node(make_node("Transpose"), {x}).at(0).shape, (Shape{4, 3, 2}));
  Node n = make_node("Transpose");
  n.attrs.set("perm", std::vector<int64_t>{1, 2, 0});
  EXPECT_EQ(infer_single_node(n, {x}).at(0).shape, (Shape{3, 4, 2}));
  n.attrs.set("perm", std::vector<int64_t>{0, 0, 1});
  EXPECT_THROW(infer_single_node(n, {x}), Error);
  n.attrs.set("perm", std::vector<int64_t>{0, 1});
  EXPECT_THROW(infer_single_node(n, {x}), Error);
}

TEST(Transpose, ReferenceHandComputed) {
  Node n = make_node("Transpose");
  auto r = run_single_node(n, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // int64 and bool take the same byte path.
  auto ri = run_single_node(n, {i64({2, 2}, {1, 2, 3, 4})}, KernelChoice::kReference);
  EXPECT_EQ(vals<int64_t>(ri.outputs[0]), (std::vector<int64_t>{1, 3, 2, 4}));
}

TEST(Transpose, AllPermutationsAgainstNaiveAndFast) {
  std::vector<Shape> shapes = {{2, 3, 4}, {5, 1, 7, 3}, {2, 3, 1, 4, 5}, {64, 48}, {3, 17, 33, 8}};
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    std::vector<int64_t> perm(s.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      Node n = make_node("Transpose");
      n.attrs.set("perm", perm);
      Tensor x = random_f32(s, seed++);
      Tensor want = naive_transpose(x, perm);
      auto ref = run_single_node(n, {x}, KernelChoice::kReference);
      auto fast = run_single_node(n, {x}, KernelChoice::kFast);
      ASSERT_TRUE(fast.used_fast);
      ASSERT_EQ(ref.outputs[0].shape(), want.shape());
      ASSERT_EQ(vals<float>(ref.outputs[0]), vals<float>(want)) << shape_str(s);
      ASSERT_EQ(vals<float>(fast.outputs[0]), vals<float>(want)) << shape_str(s);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
  // Large enough to take the parallel path.
  Tensor big = random_f32({8, 64, 32, 48}, 99);
  Node n = make_node("Transpose");
  n.attrs.set("perm", std::vector<int64_t>{0, 2, 1, 3});
  auto ref = run_single_node(n, {big}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(ref.outputs[0]), vals<float>(naive_transpose(big, {0, 2, 1, 3})));
  // Non-float inputs: the fast kernel declines.
  Tensor xi = i64({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(run_single_node(make_node("Transpose"), {xi}, KernelChoice::kFast).used_fast);
}

TEST(Constant, AttributeForms) {
  Node n = make_node("Constant");
  n.attrs.set("value", f32({2}, {1.5f, 2.5f}));
  auto r = run_single_node(n, {}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1.5f, 2.5f}));
  Node a = make_node("Constant");
  a.attrs.set("value_ints", std::vector<int64_t>{3, 4});
  r = run_single_node(a, {}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].dtype(), DType::kI64);
  EXPECT_EQ(vals<int64_t>(r.outputs[0]), (std::vector<int64_t>{3, 4}));
  Node b = make_node("Constant");
  b.attrs.set("value_float", 0.25f);
  r = run_single_node(b, {}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), Shape{});
  EXPECT_EQ(*r.outputs[0].ptr<float>(), 0.25f);
  EXPECT_THROW(infer_single_node(make_node("Constant"), {}), Error);
}

TEST(ConstantOfShape, DefaultAndValue) {
  auto r = run_single_node(make_node("ConstantOfShape"), {i64v({2, 3})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].dtype(), DType::kF32);
  EXPECT_EQ(vals<float>(r.outputs[0]), std::vector<float>(6, 0.f));
  Node n = make_node("ConstantOfShape");
  n.attrs.set("value", Tensor::from<int32_t>({1}, std::vector<int32_t>{7}));
  r = run_single_node(n, {i64v({4})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].dtype(), DType::kI32);
  EXPECT_EQ(vals<int32_t>(r.outputs[0]), std::vector<int32_t>(4, 7));
  r = run_single_node(n, {i64v({0})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].numel(), 0);
  EXPECT_THROW(infer_single_node(make_node("ConstantOfShape"), {i64v({2, -1})}), Error);
}

TEST(Range, FloatAndInt) {
  auto r = run_single_node(make_node("Range"),
                           {Tensor::scalar(1.f), Tensor::scalar(5.f), Tensor::scalar(2.f)},
                           KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 3}));
  r = run_single_node(
      make_node("Range"),
      {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(6), Tensor::scalar<int32_t>(-3)},
      KernelChoice::kReference);
  EXPECT_EQ(vals<int32_t>(r.outputs[0]), (std::vector<int32_t>{10, 7}));
  r = run_single_node(
      make_node("Range"),
      {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(-1), Tensor::scalar<int64_t>(1)},
      KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].numel(), 0);
  EXPECT_THROW(infer_single_node(make_node("Range"),
                                 {Tensor::scalar(1.f), Tensor::scalar(5.f), Tensor::scalar(0.f)}),
               Error);
}

}  // namespace
}  // namespace save
