// Resize and Upsample: output-shape rules of every input form, reference
// kernel against the ONNX spec's worked examples and against an independent
// separable implementation (Keys' cubic kernel written piecewise).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::random_f32;

Node resize_node(const std::string& mode, const std::string& coord = "") {
  Node n;
  n.name = "r0";
  n.op = "Resize";
  n.attrs.set("mode", mode);
  if (!coord.empty()) n.attrs.set("coordinate_transformation_mode", coord);
  return n;
}

Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(shape, v);
}
Tensor f32v(std::vector<float> v) {
  return f32({static_cast<int64_t>(v.size())}, v);
}
Tensor i64v(std::vector<int64_t> v) {
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}

Tensor with_scales(const Node& n, const Tensor& x, std::vector<float> scales) {
  return run_single_node(n, {x, Tensor{}, f32v(scales)}, KernelChoice::kReference).outputs[0];
}
Tensor with_sizes(const Node& n, const Tensor& x, std::vector<int64_t> sizes) {
  return run_single_node(n, {x, Tensor{}, Tensor{}, i64v(sizes)}, KernelChoice::kReference)
      .outputs[0];
}

TEST(Resize, ShapeRule) {
  Tensor x(DType::kF32, {1, 1, 4, 4});
  Node n = resize_node("nearest");
  EXPECT_EQ(infer_single_node(n, {x, Tensor{}, f32v({1, 1, 0.8f, 0.8f})}).at(0).shape,
            (Shape{1, 1, 3, 3}));
  EXPECT_EQ(infer_single_node(n, {x, Tensor{}, f32v({1, 1, 2, 3})}).at(0).shape,
            (Shape{1, 1, 8, 12}));
  // Empty roi/scales constants stand for "not given".
  EXPECT_EQ(infer_single_node(n, {x, f32({0}, {}), f32({0}, {}), i64v({1, 1, 9, 10})}).at(0).shape,
            (Shape{1, 1, 9, 10}));
  // Resize-10: scales are input 1.
  EXPECT_EQ(infer_single_node(n, {x, f32v({1, 1, 0.5f, 2})}, 10).at(0).shape, (Shape{1, 1, 2, 8}));
  // Opset 18 axes and keep_aspect_ratio_policy.
  Node a = resize_node("nearest");
  a.attrs.set("axes", std::vector<int64_t>{2, 3});
  a.attrs.set("keep_aspect_ratio_policy", std::string("not_larger"));
  EXPECT_EQ(infer_single_node(a, {x, Tensor{}, Tensor{}, i64v({7, 8})}, 18).at(0).shape,
            (Shape{1, 1, 7, 7}));
  EXPECT_THROW(infer_single_node(n, {x}), Error);
  EXPECT_THROW(infer_single_node(n, {x, Tensor{}, f32v({1, 1, 2, 2}), i64v({1, 1, 8, 8})}), Error);
  EXPECT_THROW(infer_single_node(n, {x, Tensor{}, f32v({2, 2})}), Error);
  EXPECT_THROW(infer_single_node(resize_node("area"), {x, Tensor{}, f32v({1, 1, 2, 2})}), Error);
  EXPECT_THROW(
      infer_single_node(resize_node("linear", "diagonal"), {x, Tensor{}, f32v({1, 1, 2, 2})}),
      Error);
  // Sizes that are not plan-time constants cannot be planned.
  EXPECT_THROW(infer_single_node(n, {x, Tensor{}, Tensor{}, i64v({1, 1, 8, 8})}, 13, false), Error);
}

TEST(Resize, NearestSpecExamples) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor up = with_scales(resize_node("nearest"), x, {1, 1, 2, 3});
  expect_close(up, f32({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                      3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}),
               0.0, 0);
  Tensor x24 = f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_close(with_scales(resize_node("nearest"), x24, {1, 1, 0.6f, 0.6f}),
               f32({1, 1, 1, 2}, {1, 3}), 0.0, 0);
  expect_close(with_sizes(resize_node("nearest"), x24, {1, 1, 1, 3}), f32({1, 1, 1, 3}, {1, 2, 4}),
               0.0, 0);
  // nearest_mode x coordinate mode on a 1x4 row upsampled to 8.
  Tensor row = f32({1, 4}, {1, 2, 3, 4});
  auto run = [&](const std::string& coord, const std::string& nm) {
    Node n = resize_node("nearest", coord);
    n.attrs.set("nearest_mode", nm);
    return with_sizes(n, row, {1, 8});
  };
  expect_close(run("half_pixel", "ceil"), f32({1, 8}, {1, 2, 2, 3, 3, 4, 4, 4}), 0.0, 0);
  expect_close(run("align_corners", "floor"), f32({1, 8}, {1, 1, 1, 2, 2, 3, 3, 4}), 0.0, 0);
  expect_close(run("asymmetric", "round_prefer_ceil"), f32({1, 8}, {1, 2, 2, 3, 3, 4, 4, 4}), 0.0,
               0);
  expect_close(run("asymmetric", "round_prefer_floor"), f32({1, 8}, {1, 1, 2, 2, 3, 3, 4, 4}), 0.0,
               0);
}

TEST(Resize, LinearSpecExamples) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  expect_close(with_scales(resize_node("linear"), x, {1, 1, 2, 2}),
               f32({1, 1, 4, 4}, {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3,
                                  3.25, 3.75, 4}),
               0.0, 1e-6);
  const float a = 1.f / 3, b = 2.f / 3;
  expect_close(with_scales(resize_node("linear", "align_corners"), x, {1, 1, 2, 2}),
               f32({1, 1, 4, 4}, {1, 1 + a, 1 + b, 2, 1 + b, 2, 2 + a, 2 + b, 2 + a, 2 + b, 3,
                                  3 + a, 3, 3 + a, 3 + b, 4}),
               0.0, 1e-6);
  Tensor x24 = f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_close(with_scales(resize_node("linear"), x24, {1, 1, 0.6f, 0.6f}),
               f32({1, 1, 1, 2}, {2.6666665f, 4.3333331f}), 0.0, 1e-5);
  // With scales, align_corners uses scale * width (here 2.4), as the ONNX
  // reference does: x = 1 maps to 1 * 3 / 1.4.
  expect_close(with_scales(resize_node("linear", "align_corners"), x24, {1, 1, 0.6f, 0.6f}),
               f32({1, 1, 1, 2}, {1, 1 + 3 / (0.6f * 4 - 1)}), 0.0, 1e-5);
}

// Keys' cubic convolution kernel, written piecewise.
double keys(double d, double A) {
  d = std::abs(d);
  if (d <= 1) return (A + 2) * d * d * d - (A + 3) * d * d + 1;
  if (d < 2) return A * d * d * d - 5 * A * d * d + 8 * A * d - 4 * A;
  return 0;
}

// Independent 2-D cubic resize of an [H, W] image to [oh, ow] with the given
// coordinate map, clamping at the border or (exclude) dropping outside taps.
Tensor cubic_2d(const Tensor& x, int64_t oh, int64_t ow, double A, bool exclude,
                const std::function<double(int64_t, int64_t, int64_t)>& map) {
  int64_t h = x.shape()[2], w = x.shape()[3];
  Tensor out(DType::kF32, {1, 1, oh, ow});
  auto weights = [&](int64_t o, int64_t in, int64_t on) {
    double xo = map(o, in, on);
    std::vector<std::pair<int64_t, double>> t;
    double f = std::floor(xo), sum = 0;
    for (int64_t i = static_cast<int64_t>(f) - 1; i <= static_cast<int64_t>(f) + 2; ++i) {
      double wt = keys(xo - static_cast<double>(i), A);
      if (exclude && (i < 0 || i >= in)) wt = 0;
      t.push_back({std::clamp<int64_t>(i, 0, in - 1), wt});
      sum += wt;
    }
    if (exclude)
      for (auto& p : t) p.second /= sum;
    return t;
  };
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      double acc = 0;
      for (auto [r, wr] : weights(i, h, oh))
        for (auto [c, wc] : weights(j, w, ow)) acc += wr * wc * x.ptr<float>()[r * w + c];
      out.ptr<float>()[i * ow + j] = static_cast<float>(acc);
    }
  return out;
}

TEST(Resize, CubicAgainstIndependentKernel) {
  Tensor x = random_f32({1, 1, 4, 5}, 7);
  auto half = [](int64_t o, int64_t in, int64_t on) {
    double s = static_cast<double>(on) / static_cast<double>(in);
    return (static_cast<double>(o) + 0.5) / s - 0.5;
  };
  auto corners = [](int64_t o, int64_t in, int64_t on) {
    return static_cast<double>(o) * static_cast<double>(in - 1) / static_cast<double>(on - 1);
  };
  auto asym = [](int64_t o, int64_t in, int64_t on) {
    return static_cast<double>(o) * static_cast<double>(in) / static_cast<double>(on);
  };
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{9, 10}, {3, 3}, {8, 4}}) {
    expect_close(with_sizes(resize_node("cubic"), x, {1, 1, oh, ow}),
                 cubic_2d(x, oh, ow, -0.75, false, half), 0.0, 1e-5);
    expect_close(with_sizes(resize_node("cubic", "align_corners"), x, {1, 1, oh, ow}),
                 cubic_2d(x, oh, ow, -0.75, false, corners), 0.0, 1e-5);
    expect_close(with_sizes(resize_node("cubic", "asymmetric"), x, {1, 1, oh, ow}),
                 cubic_2d(x, oh, ow, -0.75, false, asym), 0.0, 1e-5);
    Node ex = resize_node("cubic");
    ex.attrs.set("cubic_coeff_a", -0.5f);
    ex.attrs.set("exclude_outside", int64_t{1});
    expect_close(with_sizes(ex, x, {1, 1, oh, ow}), cubic_2d(x, oh, ow, -0.5, true, half), 0.0,
                 1e-5);
  }
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  Tensor x = random_f32({1, 1, 4, 4}, 9);
  Node n = resize_node("linear", "tf_crop_and_resize");
  n.attrs.set("extrapolation_value", 10.f);
  Tensor roi = f32v({0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f});
  auto r = run_single_node(n, {x, roi, Tensor{}, i64v({1, 1, 3, 3})}, KernelChoice::kReference);
  const float* o = r.outputs[0].ptr<float>();
  // Row coordinates 1.2, 2.4, 3.6 are inside; columns 1.8, 3.45, 5.1: the last is outside.
  EXPECT_FLOAT_EQ(o[2], 10.f);
  EXPECT_FLOAT_EQ(o[5], 10.f);
  const float* p = x.ptr<float>();
  auto at = [&](int i, int j) { return static_cast<double>(p[i * 4 + j]); };
  double row = 1.2 - 1, col = 1.8 - 1;
  double want = (1 - row) * ((1 - col) * at(1, 1) + col * at(1, 2)) +
                row * ((1 - col) * at(2, 1) + col * at(2, 2));
  EXPECT_NEAR(o[0], want, 1e-5);
}

// The fast kernel (float32 nearest/linear over H and W) against the
// reference, over coordinate modes, nearest modes, up- and down-scaling and
// sizes that are not multiples.
TEST(Resize, FastMatchesReference) {
  Tensor x = random_f32({2, 3, 7, 5}, 21, -2, 2);
  struct Case {
    std::string mode, coord, nearest;
  };
  std::vector<Case> cases = {
      {"nearest", "", ""},
      {"nearest", "asymmetric", "floor"},
      {"nearest", "half_pixel", "round_prefer_ceil"},
      {"nearest", "align_corners", "ceil"},
      {"nearest", "tf_half_pixel_for_nn", ""},
      {"linear", "", ""},
      {"linear", "align_corners", ""},
      {"linear", "asymmetric", ""},
      {"linear", "pytorch_half_pixel", ""},
      {"linear", "half_pixel_symmetric", ""},
  };
  for (const Case& c : cases) {
    Node n = resize_node(c.mode, c.coord);
    if (!c.nearest.empty()) n.attrs.set("nearest_mode", c.nearest);
    for (std::vector<int64_t> sizes : {std::vector<int64_t>{2, 3, 14, 10},
                                       {2, 3, 11, 3},
                                       {2, 3, 1, 1},
                                       {2, 3, 7, 5},
                                       {2, 3, 4, 17}}) {
      SCOPED_TRACE(c.mode + " " + c.coord + " " + c.nearest + " -> " + shape_str(sizes));
      std::vector<Tensor> in = {x, Tensor{}, Tensor{}, i64v(sizes)};
      auto fast = run_single_node(n, in, KernelChoice::kFast);
      EXPECT_TRUE(fast.used_fast);
      expect_close(fast.outputs[0], run_single_node(n, in, KernelChoice::kReference).outputs[0],
                   1e-5, 1e-6);
    }
    // Scales instead of sizes (Upsample-style 2x and a 0.5 downscale).
    for (std::vector<float> scales : {std::vector<float>{1, 1, 2, 2}, {1, 1, 0.5f, 0.5f}}) {
      std::vector<Tensor> in = {x, Tensor{}, f32v(scales)};
      auto fast = run_single_node(n, in, KernelChoice::kFast);
      EXPECT_TRUE(fast.used_fast);
      expect_close(fast.outputs[0], run_single_node(n, in, KernelChoice::kReference).outputs[0],
                   1e-5, 1e-6);
    }
  }
}

// What the fast kernel leaves to the reference: cubic, extrapolation, other
// element types, and resizing a leading axis.
TEST(Resize, FastDeclinesWhatItDoesNotCover) {
  Tensor x = random_f32({1, 2, 4, 4}, 9);
  auto fast_used = [](const Node& n, const std::vector<Tensor>& in) {
    return run_single_node(n, in, KernelChoice::kFast).used_fast;
  };
  EXPECT_FALSE(fast_used(resize_node("cubic"), {x, Tensor{}, Tensor{}, i64v({1, 2, 8, 8})}));
  Node crop = resize_node("linear", "tf_crop_and_resize");
  Tensor roi = f32v({0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f});
  EXPECT_FALSE(fast_used(crop, {x, roi, Tensor{}, i64v({1, 2, 3, 3})}));
  EXPECT_FALSE(fast_used(resize_node("nearest"), {x, Tensor{}, Tensor{}, i64v({1, 4, 8, 8})}));
  Tensor xi = Tensor::from<int64_t>({1, 1, 2, 2}, std::vector<int64_t>{1, 2, 3, 4});
  EXPECT_FALSE(fast_used(resize_node("nearest"), {xi, Tensor{}, Tensor{}, i64v({1, 1, 4, 4})}));
}

TEST(Upsample, ScalesAttributeAndInput) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Node n;
  n.name = "u0";
  n.op = "Upsample";
  n.attrs.set("mode", std::string("nearest"));
  auto r = run_single_node(n, {x, f32v({1, 1, 2, 3})}, KernelChoice::kReference, 9);
  expect_close(r.outputs[0], f32({1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}),
               0.0, 0);
  // Upsample-7: scales attribute; linear is asymmetric.
  n.attrs.set("mode", std::string("linear"));
  n.attrs.set("scales", std::vector<float>{1, 1, 2, 2});
  r = run_single_node(n, {x}, KernelChoice::kReference, 7);
  expect_close(r.outputs[0],
               f32({1, 1, 4, 4}, {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4}), 0.0,
               1e-6);
}

}  // namespace
}  // namespace save
