// BatchNormalization, InstanceNormalization, GroupNormalization,
// LayerNormalization: shape rules, reference kernels against hand-computed
// values, oneDNN kernels against the reference on random data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::make_node;
using test::random_f32;

Tensor vec(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(std::move(shape), v);
}

void expect_values(const Tensor& t, const std::vector<float>& v) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(t.ptr<float>()[i], v[i], 1e-4f) << "at " << i;
}

// Runs both kernels, checks the fast one was used and agrees with the reference.
void check_fast(const Node& node, const std::vector<Tensor>& in, size_t outputs = 0,
                int64_t opset = 17) {
  auto ref = run_single_node(node, in, KernelChoice::kReference, opset, true, outputs);
  auto fast = run_single_node(node, in, KernelChoice::kFast, opset, false, outputs);
  EXPECT_TRUE(fast.used_fast) << node.op;
  ASSERT_EQ(fast.outputs.size(), ref.outputs.size());
  for (size_t i = 0; i < ref.outputs.size(); ++i)
    if (ref.outputs[i].defined()) expect_close(fast.outputs[i], ref.outputs[i], 1e-4f, 1e-4f);
}

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}
using Ints = std::vector<int64_t>;

// Channel parameters for BatchNormalization: scale, bias, mean, var (> 0).
std::vector<Tensor> bn_params(int64_t c, uint32_t seed) {
  return {random_f32({c}, seed), random_f32({c}, seed + 1), random_f32({c}, seed + 2),
          random_f32({c}, seed + 3, 0.1f, 2.0f)};
}

TEST(BatchNorm, ShapeRule) {
  auto p = bn_params(3, 1);
  Tensor x(DType::kF32, {2, 3, 4, 5});
  auto out = infer_single_node(make_node("BatchNormalization"), {x, p[0], p[1], p[2], p[3]});
  EXPECT_EQ(out[0].shape, x.shape());
  auto tr =
      infer_single_node(make_node("BatchNormalization", attrs({{"training_mode", int64_t{1}}})),
                        {x, p[0], p[1], p[2], p[3]}, 15, true, 3);
  ASSERT_EQ(tr.size(), 3u);
  EXPECT_EQ(tr[2].shape, (Shape{3}));
  // Per-channel parameters must match C.
  EXPECT_THROW(infer_single_node(make_node("BatchNormalization"),
                                 {Tensor(DType::kF32, {2, 4, 3}), p[0], p[1], p[2], p[3]}),
               Error);
}

TEST(BatchNorm, ReferenceInference) {
  // ONNX's test_batchnorm_example values.
  Tensor x = vec({1, 2, 1, 3}, {-1, 0, 1, 2, 3, 4});
  auto r = run_single_node(
      make_node("BatchNormalization"),
      {x, vec({2}, {1, 1.5}), vec({2}, {0, 1}), vec({2}, {0, 3}), vec({2}, {1, 1.5})},
      KernelChoice::kReference);
  expect_values(r.outputs[0], {-0.999995f, 0, 0.999995f, -0.22474074f, 1, 2.2247407f});
}

TEST(BatchNorm, ReferenceTraining) {
  // One channel holding 1, 3, 5, 7: batch mean 4, population variance 5.
  Tensor x = vec({2, 1, 2}, {1, 3, 5, 7});
  Node n =
      make_node("BatchNormalization", attrs({{"training_mode", int64_t{1}}, {"epsilon", 0.0f}}));
  auto r = run_single_node(n, {x, vec({1}, {2}), vec({1}, {1}), vec({1}, {0}), vec({1}, {1})},
                           KernelChoice::kFast, 15, true, 3);
  EXPECT_FALSE(r.used_fast);
  const float k = 2.0f / std::sqrt(5.0f);
  expect_values(r.outputs[0], {-3 * k + 1, -k + 1, k + 1, 3 * k + 1});
  expect_values(r.outputs[1], {0.4f});  // 0 * 0.9 + 4 * 0.1
  expect_values(r.outputs[2], {1.4f});  // 1 * 0.9 + 5 * 0.1
}

TEST(BatchNorm, FastMatchesReference) {
  Node n = make_node("BatchNormalization", attrs({{"epsilon", 1e-3f}}));
  auto p = bn_params(16, 10);
  check_fast(n, {random_f32({2, 16, 7, 9}, 2), p[0], p[1], p[2], p[3]});
  check_fast(n, {random_f32({4, 16}, 3), p[0], p[1], p[2], p[3]});
  check_fast(n, {random_f32({2, 16, 3, 4, 5}, 4), p[0], p[1], p[2], p[3]});
}

TEST(InstanceNorm, Reference) {
  // ONNX's test_instancenorm_example values.
  Tensor x = vec({1, 2, 1, 3}, {-1, 0, 1, 2, 3, 4});
  auto r = run_single_node(make_node("InstanceNormalization"),
                           {x, vec({2}, {1, 1.5}), vec({2}, {0, 1})}, KernelChoice::kReference);
  expect_values(r.outputs[0], {-1.2247357f, 0, 1.2247357f, -0.8371035f, 1, 2.8371035f});
  EXPECT_THROW(infer_single_node(make_node("InstanceNormalization"),
                                 {x, vec({3}, {1, 1, 1}), vec({2}, {0, 1})}),
               Error);
}

TEST(InstanceNorm, FastMatchesReference) {
  check_fast(make_node("InstanceNormalization"),
             {random_f32({3, 8, 5, 6}, 5), random_f32({8}, 6), random_f32({8}, 7)});
  check_fast(make_node("InstanceNormalization", attrs({{"epsilon", 1e-2f}})),
             {random_f32({2, 4, 9}, 8), random_f32({4}, 9), random_f32({4}, 10)});
}

TEST(GroupNorm, Reference) {
  // Two groups of two channels: 0..3 and 4..7 both normalise to
  // (v - 1.5) / sqrt(1.25 + eps).
  Tensor x = vec({1, 4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Node n = make_node("GroupNormalization", attrs({{"num_groups", int64_t{2}}}));
  const float e = 1e-5f;
  std::vector<float> z;
  for (float v : {0.f, 1.f, 2.f, 3.f}) z.push_back((v - 1.5f) / std::sqrt(1.25f + e));
  auto r = run_single_node(n, {x, vec({2}, {1, 2}), vec({2}, {0, 1})}, KernelChoice::kReference);
  expect_values(r.outputs[0],
                {z[0], z[1], z[2], z[3], 2 * z[0] + 1, 2 * z[1] + 1, 2 * z[2] + 1, 2 * z[3] + 1});
  // Per-channel scale and bias (opset 21 form).
  auto c = run_single_node(n, {x, vec({4}, {1, 2, 3, 4}), vec({4}, {0, 0, 0, 1})},
                           KernelChoice::kReference);
  expect_values(c.outputs[0],
                {z[0], z[1], 2 * z[2], 2 * z[3], 3 * z[0], 3 * z[1], 4 * z[2] + 1, 4 * z[3] + 1});
  EXPECT_THROW(
      infer_single_node(make_node("GroupNormalization", attrs({{"num_groups", int64_t{3}}})),
                        {x, vec({3}, {1, 1, 1}), vec({3}, {0, 0, 0})}),
      Error);
}

TEST(LayerNorm, ShapeRule) {
  Tensor x(DType::kF32, {2, 3, 4, 5});
  auto out = infer_single_node(make_node("LayerNormalization", attrs({{"axis", int64_t{-2}}})),
                               {x, Tensor(DType::kF32, {4, 5})}, 17, true, 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape, x.shape());
  EXPECT_EQ(out[1].shape, (Shape{2, 3, 1, 1}));
  EXPECT_EQ(out[2].dtype, DType::kF32);
  EXPECT_THROW(infer_single_node(make_node("LayerNormalization"), {x, Tensor(DType::kF32, {4})}),
               Error);
  EXPECT_THROW(infer_single_node(make_node("LayerNormalization", attrs({{"axis", int64_t{4}}})),
                                 {x, Tensor(DType::kF32, {5})}),
               Error);
}

TEST(LayerNorm, Reference) {
  Tensor x = vec({2, 3}, {1, 2, 3, 4, 6, 8});
  const float e = 1e-5f;
  const float a = 1.0f / std::sqrt(2.0f / 3 + e), b = 1.0f / std::sqrt(8.0f / 3 + e);
  auto r = run_single_node(make_node("LayerNormalization"),
                           {x, vec({3}, {1, 1, 2}), vec({3}, {0, 0, 1})}, KernelChoice::kReference,
                           17, true, 3);
  expect_values(r.outputs[0], {-a, 0, 2 * a + 1, -2 * b, 0, 4 * b + 1});
  expect_values(r.outputs[1], {2, 6});
  expect_values(r.outputs[2], {a, b});
  // axis 0 over the whole tensor, scale broadcast from [3], no bias.
  auto z = run_single_node(make_node("LayerNormalization", attrs({{"axis", int64_t{0}}})),
                           {vec({2, 2}, {1, 1, 3, 3}), vec({2}, {1, 2})}, KernelChoice::kReference);
  expect_values(z.outputs[0], {-1 / std::sqrt(1 + e), -2 / std::sqrt(1 + e), 1 / std::sqrt(1 + e),
                               2 / std::sqrt(1 + e)});
}

TEST(LayerNorm, FastMatchesReference) {
  Node n = make_node("LayerNormalization");
  check_fast(n, {random_f32({4, 7, 64}, 1), random_f32({64}, 2), random_f32({64}, 3)});
  check_fast(n, {random_f32({4, 7, 64}, 1), random_f32({64}, 2)});
  check_fast(n, {random_f32({4, 7, 64}, 1), random_f32({64}, 2), random_f32({64}, 3)}, 3);
  check_fast(n, {random_f32({4, 7, 64}, 1), random_f32({64}, 2)}, 2);
  Node a1 = make_node("LayerNormalization", attrs({{"axis", int64_t{1}}, {"epsilon", 0.1f}}));
  check_fast(a1, {random_f32({2, 3, 4, 5}, 4), random_f32({3, 4, 5}, 5), random_f32({3, 4, 5}, 6)},
             3);
}

}  // namespace
}  // namespace save
