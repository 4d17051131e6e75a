// Conv and ConvTranspose: shape rules, reference kernels against hand-computed
// values, the oneDNN kernels against the reference on random data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/dnnl_context.hpp"
#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::filled_f32;
using test::iota_f32;
using test::make_node;
using test::random_f32;

void expect_values(const Tensor& t, const std::vector<float>& v) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(t.ptr<float>()[i], v[i], 1e-4f) << "at " << i;
}

// Runs both kernels, checks the fast one was used and agrees with the reference.
Tensor check_fast(const Node& node, const std::vector<Tensor>& in, bool consts = true) {
  auto ref = run_single_node(node, in, KernelChoice::kReference);
  auto fast = run_single_node(node, in, KernelChoice::kFast, 17, consts);
  EXPECT_TRUE(fast.used_fast);
  expect_close(fast.outputs[0], ref.outputs[0], 1e-4f, 1e-4f);
  return ref.outputs[0];
}

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}
using Ints = std::vector<int64_t>;

TEST(Conv, ShapeRule) {
  Tensor x(DType::kF32, {2, 4, 7, 5}), w(DType::kF32, {6, 2, 3, 3});
  auto out = infer_single_node(
      make_node(
          "Conv",
          attrs({{"group", int64_t{2}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 0, 1, 0}}})),
      {x, w});
  EXPECT_EQ(out[0].shape, (Shape{2, 6, 4, 2}));
  auto same = infer_single_node(
      make_node("Conv", attrs({{"auto_pad", std::string("SAME_LOWER")}, {"strides", Ints{2, 2}}})),
      {Tensor(DType::kF32, {1, 1, 5, 5}), Tensor(DType::kF32, {1, 1, 3, 3})});
  EXPECT_EQ(same[0].shape, (Shape{1, 1, 3, 3}));
  auto d1 = infer_single_node(make_node("Conv", attrs({{"dilations", Ints{2}}})),
                              {Tensor(DType::kF32, {1, 3, 10}), Tensor(DType::kF32, {4, 3, 3})});
  EXPECT_EQ(d1[0].shape, (Shape{1, 4, 6}));
}

TEST(Conv, ShapeErrors) {
  // Channel mismatch between X and W.
  EXPECT_THROW(infer_single_node(make_node("Conv"), {Tensor(DType::kF32, {1, 3, 5, 5}),
                                                     Tensor(DType::kF32, {2, 2, 3, 3})}),
               Error);
  // Kernel larger than the input.
  EXPECT_THROW(infer_single_node(make_node("Conv"), {Tensor(DType::kF32, {1, 1, 2, 2}),
                                                     Tensor(DType::kF32, {1, 1, 3, 3})}),
               Error);
}

TEST(Conv, ReferenceBasic) {
  // ONNX's test_basic_conv_with_padding: 5x5 iota(0) with a 3x3 all-ones kernel.
  Node n = make_node("Conv", attrs({{"pads", Ints{1, 1, 1, 1}}}));
  auto r = run_single_node(n, {iota_f32({1, 1, 5, 5}, 0.0f), filled_f32({1, 1, 3, 3}, 1.0f)},
                           KernelChoice::kReference);
  expect_values(r.outputs[0], {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                               117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
  // Strided, asymmetric padding, with bias.
  Node s = make_node("Conv", attrs({{"pads", Ints{1, 0, 1, 0}}, {"strides", Ints{2, 2}}}));
  auto rs = run_single_node(
      s, {iota_f32({1, 1, 7, 5}, 0.0f), filled_f32({1, 1, 3, 3}, 1.0f), filled_f32({1}, 0.5f)},
      KernelChoice::kReference);
  expect_values(rs.outputs[0], {21.5, 33.5, 99.5, 117.5, 189.5, 207.5, 171.5, 183.5});
}

TEST(Conv, ReferenceGroupsAndDilation) {
  // Depthwise 1D with dilation 2: y[c][i] = x[c][i] * w0 + x[c][i+2] * w1.
  Node n = make_node("Conv", attrs({{"group", int64_t{2}}, {"dilations", Ints{2}}}));
  Tensor w = Tensor::from<float>({2, 1, 2}, std::vector<float>{1, 10, 2, 20});
  auto r = run_single_node(n, {iota_f32({1, 2, 4}, 1.f), w}, KernelChoice::kReference);
  // c0: x=1,2,3,4 -> 1+30, 2+40 ; c1: x=5,6,7,8 -> 10+140, 12+160
  expect_values(r.outputs[0], {31, 42, 150, 172});
}

TEST(Conv, FastMatchesReference2D) {
  Node n = make_node("Conv", attrs({{"pads", Ints{1, 1, 1, 1}}}));
  check_fast(n,
             {random_f32({1, 32, 28, 28}, 1), random_f32({32, 32, 3, 3}, 2), random_f32({32}, 3)});
  check_fast(n, {random_f32({2, 3, 9, 11}, 4), random_f32({5, 3, 3, 3}, 5)});
  Node g = make_node("Conv", attrs({{"group", int64_t{4}},
                                    {"strides", Ints{2, 1}},
                                    {"dilations", Ints{1, 2}},
                                    {"auto_pad", std::string("SAME_UPPER")}}));
  check_fast(g, {random_f32({2, 16, 10, 9}, 6), random_f32({16, 4, 3, 3}, 7), random_f32({16}, 8)});
  // Weights that are not plan-time constants.
  check_fast(n, {random_f32({1, 16, 8, 8}, 9), random_f32({8, 16, 3, 3}, 10)}, false);
}

TEST(Conv, FastMatchesReference1D3D) {
  Node n1 = make_node("Conv", attrs({{"strides", Ints{2}}, {"pads", Ints{2, 1}}}));
  check_fast(n1, {random_f32({2, 8, 17}, 11), random_f32({12, 8, 5}, 12), random_f32({12}, 13)});
  Node n3 = make_node("Conv", attrs({{"pads", Ints{1, 0, 1, 1, 0, 1}}}));
  check_fast(n3, {random_f32({1, 4, 5, 6, 7}, 14), random_f32({8, 4, 3, 2, 3}, 15)});
}

TEST(Conv, FastWeightsFollowConstantsEpoch) {
  // The kernel caches reordered weights: run it directly twice with changed
  // weights and a bumped epoch, as the executor does after fault injection.
  Node n = make_node("Conv", attrs({{"pads", Ints{1, 1, 1, 1}}}));
  Tensor x = random_f32({1, 16, 8, 8}, 20), w = random_f32({16, 16, 3, 3}, 21);
  auto r1 = run_single_node(n, {x, w}, KernelChoice::kFast);
  ASSERT_TRUE(r1.used_fast);
  const OpDef* def = find_op("Conv");
  ASSERT_NE(def, nullptr);
  auto& dn = DnnlContext::get();
  TensorInfo xi{DType::kF32, x.shape()}, wi{DType::kF32, w.shape()};
  TensorInfo yi{DType::kF32, r1.outputs[0].shape()};
  PrepareContext pctx{n, 17, {&xi, &wi}, {nullptr, &w}, {&yi}, &dn.engine, &dn.stream};
  auto k = def->make_fast(pctx);
  ASSERT_TRUE(k);
  Tensor y(DType::kF32, yi.shape);
  std::vector<TensorView> ins{x.view(), w.view()}, outs{y.view()};
  k->run(KernelContext{n, ins, outs, 0, 17});
  expect_close(y, r1.outputs[0], 1e-4f, 1e-4f);
  for (int64_t i = 0; i < w.numel(); ++i) w.ptr<float>()[i] *= 2.0f;
  k->run(KernelContext{n, ins, outs, 1, 17});
  auto r2 = run_single_node(n, {x, w}, KernelChoice::kReference);
  expect_close(y, r2.outputs[0], 1e-4f, 1e-4f);
}

TEST(ConvTranspose, ShapeRule) {
  Tensor x(DType::kF32, {1, 1, 3, 3}), w(DType::kF32, {1, 2, 3, 3});
  EXPECT_EQ(infer_single_node(make_node("ConvTranspose"), {x, w})[0].shape, (Shape{1, 2, 5, 5}));
  EXPECT_EQ(infer_single_node(make_node("ConvTranspose", attrs({{"strides", Ints{3, 2}},
                                                                {"output_padding", Ints{1, 1}}})),
                              {x, w})[0]
                .shape,
            (Shape{1, 2, 10, 8}));
  EXPECT_EQ(infer_single_node(make_node("ConvTranspose", attrs({{"strides", Ints{3, 2}},
                                                                {"output_shape", Ints{10, 8}}})),
                              {x, w})[0]
                .shape,
            (Shape{1, 2, 10, 8}));
  EXPECT_EQ(infer_single_node(
                make_node("ConvTranspose", attrs({{"strides", Ints{2, 2}},
                                                  {"auto_pad", std::string("SAME_UPPER")}})),
                {x, w})[0]
                .shape,
            (Shape{1, 2, 6, 6}));
  // W's first dimension must be X's channel count.
  EXPECT_THROW(
      infer_single_node(make_node("ConvTranspose"), {Tensor(DType::kF32, {1, 2, 3, 3}), w}), Error);
}

TEST(ConvTranspose, Reference) {
  // 1D: x = [1, 2, 3], w = [1, 1, 1] -> full convolution [1, 3, 6, 5, 3].
  auto r = run_single_node(make_node("ConvTranspose"),
                           {iota_f32({1, 1, 3}, 1.f), filled_f32({1, 1, 3}, 1.0f)},
                           KernelChoice::kReference);
  expect_values(r.outputs[0], {1, 3, 6, 5, 3});
  // Stride 2, pads 1 each side, bias 1: full = [1, 1, 3, 2, 5, 3, 3] -> crop 1.
  auto s = run_single_node(
      make_node("ConvTranspose", attrs({{"strides", Ints{2}}, {"pads", Ints{1, 1}}})),
      {iota_f32({1, 1, 3}, 1.f), filled_f32({1, 1, 3}, 1.0f), filled_f32({1}, 1.0f)},
      KernelChoice::kReference);
  expect_values(s.outputs[0], {2, 4, 3, 6, 4});
}

TEST(ConvTranspose, FastMatchesReference) {
  Node n = make_node(
      "ConvTranspose",
      attrs({{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"output_padding", Ints{1, 1}}}));
  check_fast(n,
             {random_f32({2, 16, 7, 7}, 30), random_f32({16, 8, 3, 3}, 31), random_f32({8}, 32)});
  Node g = make_node("ConvTranspose", attrs({{"group", int64_t{2}}, {"dilations", Ints{2, 1}}}));
  check_fast(g, {random_f32({1, 4, 5, 6}, 33), random_f32({4, 3, 2, 3}, 34)});
  Node d1 = make_node("ConvTranspose", attrs({{"strides", Ints{3}}}));
  check_fast(d1, {random_f32({1, 3, 5}, 35), random_f32({3, 2, 4}, 36)}, false);
}

}  // namespace
}  // namespace save
