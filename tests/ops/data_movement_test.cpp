// Data-movement ops: shape rules (incl. old-opset attribute forms), reference
// kernels against hand-computed values and independent index arithmetic, and
// the oneDNN kernels of DepthToSpace/SpaceToDepth against the reference.
#include <gtest/gtest.h>

#include <limits>
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

// Multi-index of flat offset `o` in `shape`.
std::vector<int64_t> unravel(int64_t o, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = o % shape[d];
    o /= shape[d];
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t o = 0;
  for (size_t d = 0; d < shape.size(); ++d) o = o * shape[d] + idx[d];
  return o;
}

TEST(Concat, ShapeRuleAndValues) {
  Node n = make_node("Concat");
  n.attrs.set("axis", int64_t{-2});
  Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({1, 2}, {5, 6});
  auto r = run_single_node(n, {a, b}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  n.attrs.set("axis", int64_t{1});
  r = run_single_node(n, {a, f32({2, 1}, {7, 8}), f32({2, 0}, {})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 2, 7, 3, 4, 8}));
  EXPECT_THROW(infer_single_node(n, {a, b}), Error);                    // rows differ off the axis
  EXPECT_THROW(infer_single_node(make_node("Concat"), {a, b}), Error);  // axis required
  // Concat-1 defaults the axis to 1.
  EXPECT_EQ(infer_single_node(make_node("Concat"), {a, a}, 1).at(0).shape, (Shape{2, 4}));
}

TEST(Concat, LargeAgainstIndexing) {
  Node n = make_node("Concat");
  n.attrs.set("axis", int64_t{1});
  Tensor a = random_f32({4, 300, 256}, 1), b = random_f32({4, 100, 256}, 2);
  auto r = run_single_node(n, {a, b}, KernelChoice::kReference);
  const Tensor& o = r.outputs[0];
  ASSERT_EQ(o.shape(), (Shape{4, 400, 256}));
  for (int64_t i = 0; i < o.numel(); i += 97) {
    auto idx = unravel(i, o.shape());
    float want = idx[1] < 300 ? a.ptr<float>()[ravel(idx, a.shape())]
                              : b.ptr<float>()[ravel({idx[0], idx[1] - 300, idx[2]}, b.shape())];
    ASSERT_EQ(o.ptr<float>()[i], want);
  }
}

TEST(Split, Forms) {
  Tensor x = f32({2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Node n = make_node("Split");
  n.attrs.set("axis", int64_t{1});
  auto r = run_single_node(n, {x, i64v({2, 4})}, KernelChoice::kReference, 13, true, 2);
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{0, 1, 6, 7}));
  EXPECT_EQ(vals<float>(r.outputs[1]), (std::vector<float>{2, 3, 4, 5, 8, 9, 10, 11}));
  // Equal parts from the number of outputs.
  r = run_single_node(n, {x}, KernelChoice::kReference, 13, true, 3);
  ASSERT_EQ(r.outputs.size(), 3u);
  EXPECT_EQ(vals<float>(r.outputs[2]), (std::vector<float>{4, 5, 10, 11}));
  // Split-2..11: the sizes are an attribute.
  Node old = make_node("Split");
  old.attrs.set("split", std::vector<int64_t>{1, 1});
  auto infos = infer_single_node(old, {x}, 11, true, 2);
  EXPECT_EQ(infos.at(1).shape, (Shape{1, 6}));
  // Opset 18's num_outputs: uneven, last part smaller.
  Node k = make_node("Split");
  k.attrs.set("axis", int64_t{1});
  k.attrs.set("num_outputs", int64_t{4});
  infos = infer_single_node(k, {x}, 18, true, 4);
  EXPECT_EQ(infos.at(0).shape, (Shape{2, 2}));
  EXPECT_EQ(infos.at(3).shape, (Shape{2, 0}));
  // Zero-size parts.
  auto z = run_single_node(make_node("Split"), {f32({0}, {}), i64v({0, 0, 0})},
                           KernelChoice::kReference, 13, true, 3);
  EXPECT_EQ(z.outputs[2].shape(), (Shape{0}));
  EXPECT_THROW(infer_single_node(n, {x, i64v({2, 3})}, 13, true, 2), Error);
  EXPECT_THROW(infer_single_node(n, {x}, 13, true, 4), Error);
}

// Independent slice: step through each axis with Python's semantics.
TEST(Slice, CasesFromTheSuite) {
  Tensor x = iota_f32({20, 10, 5});
  auto slice = [&](std::vector<int64_t> starts, std::vector<int64_t> ends,
                   std::vector<int64_t> axes, std::vector<int64_t> steps) {
    std::vector<Tensor> in = {x, i64v(starts), i64v(ends)};
    in.push_back(axes.empty() ? Tensor{} : i64v(axes));
    in.push_back(steps.empty() ? Tensor{} : i64v(steps));
    return run_single_node(make_node("Slice"), in, KernelChoice::kReference).outputs[0];
  };
  Tensor a = slice({0, 0}, {3, 10}, {0, 1}, {1, 1});
  EXPECT_EQ(a.shape(), (Shape{3, 10, 5}));
  EXPECT_EQ(vals<float>(a), std::vector<float>(x.ptr<float>(), x.ptr<float>() + 150));
  EXPECT_EQ(slice({0, 0, 3}, {20, 10, 4}, {}, {}).shape(), (Shape{20, 10, 1}));
  EXPECT_EQ(slice({1}, {1000}, {1}, {1}).shape(), (Shape{20, 9, 5}));
  EXPECT_EQ(slice({1000}, {1000}, {1}, {1}).shape(), (Shape{20, 0, 5}));
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(slice({1}, {big}, {1}, {big}).shape(), (Shape{20, 1, 5}));
  EXPECT_EQ(slice({-1}, {-big}, {1}, {-1}).shape(), (Shape{20, 10, 5}));
  EXPECT_EQ(slice({0}, {-1}, {1}, {1}).shape(), (Shape{20, 9, 5}));
  Tensor neg = slice({20, 10, 4}, {0, 0, 1}, {0, 1, 2}, {-1, -3, -2});
  ASSERT_EQ(neg.shape(), (Shape{19, 3, 2}));
  for (int64_t i = 0; i < neg.numel(); ++i) {
    auto idx = unravel(i, neg.shape());
    // starts clamp to 19, 9, 4.
    std::vector<int64_t> src = {19 - idx[0], 9 - 3 * idx[1], 4 - 2 * idx[2]};
    ASSERT_EQ(neg.ptr<float>()[i], x.ptr<float>()[ravel(src, x.shape())]) << i;
  }
  Tensor mid = slice({2, 1}, {7, 4}, {-1, 0}, {2, 1});
  ASSERT_EQ(mid.shape(), (Shape{3, 10, 2}));  // axis 2: indices 2, 4
  for (int64_t i = 0; i < mid.numel(); ++i) {
    auto idx = unravel(i, mid.shape());
    ASSERT_EQ(mid.ptr<float>()[i],
              x.ptr<float>()[ravel({idx[0] + 1, idx[1], 2 + 2 * idx[2]}, x.shape())]);
  }
  // Slice-1: attributes.
  Node old = make_node("Slice");
  old.attrs.set("starts", std::vector<int64_t>{1});
  old.attrs.set("ends", std::vector<int64_t>{3});
  old.attrs.set("axes", std::vector<int64_t>{2});
  auto r = run_single_node(old, {x}, KernelChoice::kReference, 9);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{20, 10, 2}));
  EXPECT_EQ(r.outputs[0].ptr<float>()[3], 7.f);
  EXPECT_THROW(slice({0}, {1}, {3}, {1}), Error);
  EXPECT_THROW(slice({0}, {1}, {0}, {0}), Error);
}

TEST(Gather, AxesAndIndexTypes) {
  Tensor x = iota_f32({5, 4, 3, 2});
  Node n = make_node("Gather");
  n.attrs.set("axis", int64_t{1});
  auto r = run_single_node(n, {x, i64v({0, 1, 3})}, KernelChoice::kReference);
  const Tensor& o = r.outputs[0];
  ASSERT_EQ(o.shape(), (Shape{5, 3, 3, 2}));
  std::vector<int64_t> ind = {0, 1, 3};
  for (int64_t i = 0; i < o.numel(); ++i) {
    auto idx = unravel(i, o.shape());
    idx[1] = ind[static_cast<size_t>(idx[1])];
    ASSERT_EQ(o.ptr<float>()[i], x.ptr<float>()[ravel(idx, x.shape())]);
  }
  // 2-D int32 indices, negative indices, axis 0.
  Tensor y = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor idx32 = Tensor::from<int32_t>({2, 2}, std::vector<int32_t>{0, -1, 1, 0});
  r = run_single_node(make_node("Gather"), {y, idx32}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 2, 5, 6, 3, 4, 1, 2}));
  // Scalar index removes the axis.
  r = run_single_node(n, {y, Tensor::scalar<int64_t>(1)}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{3}));
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{2, 4, 6}));
  EXPECT_THROW(run_single_node(make_node("Gather"), {y, i64v({3})}, KernelChoice::kReference),
               Error);
  EXPECT_THROW(infer_single_node(make_node("Gather"), {y, f32({1}, {0})}), Error);
}

TEST(Expand, Broadcasts) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  auto r = run_single_node(make_node("Expand"), {x, i64v({2, 1, 6})}, KernelChoice::kReference);
  ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 3, 6}));
  for (int64_t i = 0; i < 36; ++i)
    ASSERT_EQ(r.outputs[0].ptr<float>()[i], static_cast<float>(1 + (i / 6) % 3));
  r = run_single_node(make_node("Expand"), {x, i64v({3, 4})}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{3, 4}));
  // Middle-axis broadcast and a shape with fewer dims than the input.
  Tensor y = f32({2, 1, 2}, {1, 2, 3, 4});
  r = run_single_node(make_node("Expand"), {y, i64v({3, 1})}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]), (std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
  EXPECT_THROW(infer_single_node(make_node("Expand"), {x, i64v({2, 4})}), Error);
}

TEST(Tile, Repeats) {
  Tensor x = f32({2, 2}, {0, 1, 2, 3});
  auto r = run_single_node(make_node("Tile"), {x, i64v({2, 2})}, KernelChoice::kReference);
  EXPECT_EQ(vals<float>(r.outputs[0]),
            (std::vector<float>{0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3}));
  Tensor y = random_f32({2, 3, 4, 5}, 3);
  r = run_single_node(make_node("Tile"), {y, i64v({7, 6, 4, 2})}, KernelChoice::kReference);
  const Tensor& o = r.outputs[0];
  ASSERT_EQ(o.shape(), (Shape{14, 18, 16, 10}));
  for (int64_t i = 0; i < o.numel(); ++i) {
    auto idx = unravel(i, o.shape());
    for (size_t d = 0; d < 4; ++d) idx[d] %= y.shape()[d];
    ASSERT_EQ(o.ptr<float>()[i], y.ptr<float>()[ravel(idx, y.shape())]);
  }
  EXPECT_THROW(infer_single_node(make_node("Tile"), {x, i64v({2})}), Error);
}

TEST(Pad, Modes) {
  Tensor x = f32({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  Node n = make_node("Pad");
  auto run = [&](const std::string& mode, std::vector<int64_t> pads) {
    n.attrs.set("mode", mode);
    return run_single_node(n, {x, i64v(pads), Tensor::scalar(9.f)}, KernelChoice::kReference)
        .outputs[0];
  };
  // The examples of the ONNX Pad spec.
  Tensor c = run("constant", {0, 2, 0, 0});
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  EXPECT_EQ(vals<float>(c),
            (std::vector<float>{9, 9, 1.0f, 1.2f, 9, 9, 2.3f, 3.4f, 9, 9, 4.5f, 5.7f}));
  EXPECT_EQ(
      vals<float>(run("reflect", {0, 2, 0, 0})),
      (std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
  EXPECT_EQ(
      vals<float>(run("edge", {0, 2, 0, 0})),
      (std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
  EXPECT_EQ(vals<float>(run("wrap", {2, 1, 1, 1})).size(), 24u);
  // Reflect across rows, and negative pads crop.
  Tensor rr = run("reflect", {2, 0, 0, -1});
  EXPECT_EQ(rr.shape(), (Shape{5, 1}));
  EXPECT_EQ(vals<float>(rr), (std::vector<float>{4.5f, 2.3f, 1.0f, 2.3f, 4.5f}));
  Tensor crop = run("constant", {0, -1, 0, 1});
  EXPECT_EQ(vals<float>(crop), (std::vector<float>{1.2f, 9, 3.4f, 9, 5.7f, 9}));
  // Pad-2: attributes, integer data.
  Node old = make_node("Pad");
  old.attrs.set("pads", std::vector<int64_t>{1, 0, 0, 1});
  old.attrs.set("value", 7.f);
  auto ri = run_single_node(old, {Tensor::from<int32_t>({1, 2}, std::vector<int32_t>{1, 2})},
                            KernelChoice::kReference, 2);
  EXPECT_EQ(vals<int32_t>(ri.outputs[0]), (std::vector<int32_t>{7, 7, 7, 1, 2, 7}));
  // Opset 18 axes.
  Node ax = make_node("Pad");
  auto ra =
      run_single_node(ax, {x, i64v({1, 0}), Tensor{}, i64v({-1})}, KernelChoice::kReference, 18);
  EXPECT_EQ(ra.outputs[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(vals<float>(ra.outputs[0]),
            (std::vector<float>{0, 1.0f, 1.2f, 0, 2.3f, 3.4f, 0, 4.5f, 5.7f}));
  EXPECT_THROW(run("constant", {0, 2}), Error);
  EXPECT_THROW(run("constant", {0, -3, 0, 0}), Error);
  EXPECT_THROW(run("mirror", {0, 0, 0, 0}), Error);
}

TEST(Trilu, UpperLowerWithK) {
  Tensor x = i64({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  auto run = [&](int64_t upper, std::optional<int64_t> k) {
    Node n = make_node("Trilu");
    n.attrs.set("upper", upper);
    std::vector<Tensor> in = {x};
    if (k) in.push_back(Tensor::scalar<int64_t>(*k));
    return vals<int64_t>(run_single_node(n, in, KernelChoice::kReference, 14).outputs[0]);
  };
  EXPECT_EQ(run(1, std::nullopt), (std::vector<int64_t>{1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}));
  EXPECT_EQ(run(1, -1), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}));
  EXPECT_EQ(run(0, std::nullopt), (std::vector<int64_t>{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}));
  EXPECT_EQ(run(0, 2), (std::vector<int64_t>{1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(run(0, -7), std::vector<int64_t>(12, 0));
  EXPECT_EQ(run(1, 6), std::vector<int64_t>(12, 0));
  EXPECT_THROW(infer_single_node(make_node("Trilu"), {i64v({1, 2})}), Error);
}

TEST(DepthToSpace, ModesAgainstSpec) {
  // The DCR / CRD examples of the ONNX spec: x = arange(48) as [1, 8, 2, 3].
  Tensor x = iota_f32({1, 8, 2, 3});
  Node n = make_node("DepthToSpace");
  n.attrs.set("blocksize", int64_t{2});
  auto r = run_single_node(n, {x}, KernelChoice::kReference);
  ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 2, 4, 6}));
  std::vector<float> dcr_row0 = {0, 12, 1, 13, 2, 14};
  std::vector<float> got = vals<float>(r.outputs[0]);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 6), dcr_row0);
  EXPECT_EQ(got[6], 24.f);  // [0,0,1,0]
  n.attrs.set("mode", std::string("CRD"));
  r = run_single_node(n, {x}, KernelChoice::kReference);
  got = vals<float>(r.outputs[0]);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 6),
            (std::vector<float>{0, 6, 1, 7, 2, 8}));
  EXPECT_EQ(got[6], 12.f);
  n.attrs.set("mode", std::string("XYZ"));
  EXPECT_THROW(infer_single_node(n, {x}), Error);
  n.attrs.set("mode", std::string("DCR"));
  EXPECT_THROW(infer_single_node(n, {Tensor(DType::kF32, {1, 6, 2, 2})}), Error);
}

TEST(DepthSpace, RoundTripAndFast) {
  for (const char* mode : {"DCR", "CRD"}) {
    Tensor x = random_f32({2, 18, 5, 7}, 5);
    Node d2s = make_node("DepthToSpace");
    d2s.attrs.set("blocksize", int64_t{3});
    d2s.attrs.set("mode", std::string(mode));
    auto ref = run_single_node(d2s, {x}, KernelChoice::kReference);
    auto fast = run_single_node(d2s, {x}, KernelChoice::kFast);
    ASSERT_TRUE(fast.used_fast);
    EXPECT_EQ(ref.outputs[0].shape(), (Shape{2, 2, 15, 21}));
    EXPECT_EQ(vals<float>(fast.outputs[0]), vals<float>(ref.outputs[0]));
    if (std::string(mode) == "DCR") {
      // SpaceToDepth inverts DCR DepthToSpace.
      Node s2d = make_node("SpaceToDepth");
      s2d.attrs.set("blocksize", int64_t{3});
      auto back = run_single_node(s2d, {ref.outputs[0]}, KernelChoice::kReference);
      auto back_fast = run_single_node(s2d, {ref.outputs[0]}, KernelChoice::kFast);
      ASSERT_TRUE(back_fast.used_fast);
      EXPECT_EQ(vals<float>(back.outputs[0]), vals<float>(x));
      EXPECT_EQ(vals<float>(back_fast.outputs[0]), vals<float>(x));
    }
  }
  Node s2d = make_node("SpaceToDepth");
  s2d.attrs.set("blocksize", int64_t{2});
  EXPECT_THROW(infer_single_node(s2d, {Tensor(DType::kF32, {1, 1, 3, 4})}), Error);
}

// fuzz_model: a Split of a scalar read shape[0] of an empty shape (a crash
// in the release build). An axis is never valid at rank 0, for any op that
// takes one: a clear error naming the node, not UB.
TEST(Axis, OnAScalarIsRefused) {
  Tensor scalar = f32({}, {1.f});
  for (const std::string op : {"Split", "Softmax", "LogSoftmax", "ArgMax", "ArgMin", "CumSum"}) {
    SCOPED_TRACE(op);
    Node n = make_node(op);
    n.attrs.set("axis", int64_t{0});
    try {
      std::vector<Tensor> in{scalar};
      if (op == "CumSum") in.push_back(i64v({0}));  // its axis is an input
      infer_single_node(n, in, 13, true, 1);
      ADD_FAILURE() << op << " took axis 0 of a scalar";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("node 'n0' (" + op + ")"), std::string::npos) << what;
      EXPECT_TRUE(what.find("scalar") != std::string::npos ||
                  what.find("rank") != std::string::npos)
          << what;
    }
  }
}

}  // namespace
}  // namespace save
