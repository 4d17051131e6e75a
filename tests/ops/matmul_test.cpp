// MatMul, Gemm, Einsum: shape rules, reference kernels against hand-computed
// and independently computed values, the oneDNN kernels against the
// reference, and the repack of constant weights when constants change.
#include <gtest/gtest.h>

#include <random>

#include "exec/dnnl_context.hpp"
#include "exec/single_node.hpp"
#include "op_test_util.hpp"

namespace save {
namespace {

using test::expect_close;
using test::make_node;
using test::random_f32;

Tensor f32(Shape shape, std::vector<float> v) {
  return Tensor::from<float>(shape, v);
}

// Fast (must be used when `must_be_fast`) against reference.
void check_fast(const Node& node, const std::vector<Tensor>& in, bool must_be_fast,
                float tol = 1e-4f, bool constant = true) {
  auto ref = run_single_node(node, in, KernelChoice::kReference, 17, constant);
  auto fast = run_single_node(node, in, KernelChoice::kFast, 17, constant);
  EXPECT_FALSE(ref.used_fast);
  if (must_be_fast) {
    EXPECT_TRUE(fast.used_fast);
  }
  expect_close(fast.outputs[0], ref.outputs[0], 0.0, tol);
}

Shape out_shape(const Node& node, const std::vector<Tensor>& in) {
  return infer_single_node(node, in).at(0).shape;
}

// ------------------------------------------------------------------ MatMul

TEST(MatMul, ShapeRule) {
  auto node = make_node("MatMul");
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {2, 3, 4}), Tensor(DType::kF32, {4, 5})}),
            (Shape{2, 3, 5}));
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {4}), Tensor(DType::kF32, {4, 5})}), (Shape{5}));
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {3, 4}), Tensor(DType::kF32, {4})}), (Shape{3}));
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {4}), Tensor(DType::kF32, {4})}), (Shape{}));
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {2, 1, 3, 4}), Tensor(DType::kF32, {5, 4, 6})}),
            (Shape{2, 5, 3, 6}));
}

TEST(MatMul, BadShapesThrow) {
  auto node = make_node("MatMul");
  EXPECT_THROW(out_shape(node, {Tensor(DType::kF32, {3, 4}), Tensor(DType::kF32, {5, 6})}), Error);
  EXPECT_THROW(out_shape(node, {Tensor(DType::kF32, {2, 3, 4}), Tensor(DType::kF32, {3, 4, 6})}),
               Error);
  EXPECT_THROW(out_shape(node, {Tensor(DType::kF32, {3, 4}), Tensor(DType::kI64, {4, 6})}), Error);
}

TEST(MatMul, ReferenceHandComputed) {
  auto node = make_node("MatMul");
  auto r = run_single_node(node, {f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {5, 6, 7, 8})},
                           KernelChoice::kReference);
  expect_close(r.outputs[0], f32({2, 2}, {19, 22, 43, 50}), 0.0, 0);
  // 1-D x 1-D is a dot product with a scalar result.
  r = run_single_node(node, {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})}, KernelChoice::kReference);
  expect_close(r.outputs[0], f32({}, {32}), 0.0, 0);
  // Integers.
  r = run_single_node(node,
                      {Tensor::from<int64_t>({1, 2}, std::vector<int64_t>{2, 3}),
                       Tensor::from<int64_t>({2, 1}, std::vector<int64_t>{4, 5})},
                      KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{23}));
}

TEST(MatMul, ReferenceBroadcastMatchesNaive) {
  auto node = make_node("MatMul");
  Tensor a = random_f32({3, 1, 2, 4}, 1), b = random_f32({5, 4, 3}, 2);
  auto r = run_single_node(node, {a, b}, KernelChoice::kReference);
  ASSERT_EQ(r.outputs[0].shape(), (Shape{3, 5, 2, 3}));
  const float* pa = a.ptr<float>();
  const float* pb = b.ptr<float>();
  const float* py = r.outputs[0].ptr<float>();
  for (int i0 = 0; i0 < 3; ++i0)
    for (int i1 = 0; i1 < 5; ++i1)
      for (int m = 0; m < 2; ++m)
        for (int n = 0; n < 3; ++n) {
          double s = 0;
          for (int k = 0; k < 4; ++k) s += pa[(i0 * 2 + m) * 4 + k] * pb[(i1 * 4 + k) * 3 + n];
          ASSERT_NEAR(py[((i0 * 5 + i1) * 2 + m) * 3 + n], s, 1e-5);
        }
}

TEST(MatMul, FastMatchesReference) {
  auto node = make_node("MatMul");
  // Transformer shapes: a linear layer (constant weights) and attention.
  check_fast(node, {random_f32({2, 50, 128}, 3), random_f32({128, 384}, 4)}, true);
  check_fast(node, {random_f32({2, 4, 50, 32}, 5), random_f32({2, 4, 32, 50}, 6)}, true, 1e-4f,
             false);
  check_fast(node, {random_f32({7, 9}, 7), random_f32({9, 5}, 8)}, true, 1e-4f, false);
  check_fast(node, {random_f32({9}, 9), random_f32({3, 9, 5}, 10)}, false);
  check_fast(node, {random_f32({3, 1, 4, 5}, 11), random_f32({2, 5, 6}, 12)}, false);
  check_fast(node, {random_f32({2, 3, 4}, 13), random_f32({4}, 14)}, true);
}

TEST(MatMul, FastDeclinesIntegers) {
  auto node = make_node("MatMul");
  Tensor a = Tensor::from<int32_t>({1, 2}, std::vector<int32_t>{1, 2});
  Tensor b = Tensor::from<int32_t>({2, 1}, std::vector<int32_t>{3, 4});
  auto r = run_single_node(node, {a, b}, KernelChoice::kFast);
  EXPECT_FALSE(r.used_fast);
  EXPECT_EQ(r.outputs[0].to_int64(), (std::vector<int64_t>{11}));
}

// A packed copy of constant weights is refreshed when constants_epoch moves.
TEST(MatMul, RepacksWeightsWhenConstantsChange) {
  auto node = make_node("MatMul");
  Tensor a = random_f32({4, 16}, 20), b = random_f32({16, 8}, 21);
  TensorInfo ia{a.dtype(), a.shape()}, ib{b.dtype(), b.shape()}, iy{DType::kF32, {4, 8}};
  auto& dn = DnnlContext::get();
  PrepareContext pc{node, 17, {&ia, &ib}, {nullptr, &b}, {&iy}, &dn.engine, &dn.stream};
  auto kernel = find_op("MatMul")->make_fast(pc);
  ASSERT_NE(kernel, nullptr);
  Tensor y(DType::kF32, {4, 8});
  std::vector<TensorView> ins{a.view(), b.view()}, outs{y.view()};
  kernel->run(KernelContext{node, ins, outs, 0, 17});
  auto before = run_single_node(node, {a, b}, KernelChoice::kReference).outputs[0];
  expect_close(y, before, 0.0, 1e-4f);
  b.ptr<float>()[3] += 10.f;  // a fault hits the weights
  kernel->run(KernelContext{node, ins, outs, 1, 17});
  auto after = run_single_node(node, {a, b}, KernelChoice::kReference).outputs[0];
  expect_close(y, after, 0.0, 1e-4f);
}

// -------------------------------------------------------------------- Gemm

Attributes gemm_attrs(int ta, int tb, float alpha, float beta) {
  Attributes at;
  at.set("transA", int64_t{ta});
  at.set("transB", int64_t{tb});
  at.set("alpha", alpha);
  at.set("beta", beta);
  return at;
}

TEST(Gemm, ShapeRule) {
  auto node = make_node("Gemm", gemm_attrs(1, 1, 1, 1));
  EXPECT_EQ(out_shape(node, {Tensor(DType::kF32, {4, 3}), Tensor(DType::kF32, {5, 4}),
                             Tensor(DType::kF32, {1, 5})}),
            (Shape{3, 5}));
  auto plain = make_node("Gemm");
  EXPECT_EQ(out_shape(plain, {Tensor(DType::kF32, {2, 10}), Tensor(DType::kF32, {10, 3})}),
            (Shape{2, 3}));
  EXPECT_THROW(out_shape(plain, {Tensor(DType::kF32, {2, 10}), Tensor(DType::kF32, {3, 10})}),
               Error);
  // C must broadcast to [M, N] one way.
  EXPECT_THROW(out_shape(plain, {Tensor(DType::kF32, {2, 10}), Tensor(DType::kF32, {10, 3}),
                                 Tensor(DType::kF32, {3, 3})}),
               Error);
}

TEST(Gemm, ReferenceHandComputed) {
  // A^T = [[1,2],[3,4]], B^T = [[1,0],[0,1]] (identity), C = [10, 20].
  auto node = make_node("Gemm", gemm_attrs(1, 1, 2.f, 0.5f));
  auto r = run_single_node(
      node, {f32({2, 2}, {1, 3, 2, 4}), f32({2, 2}, {1, 0, 0, 1}), f32({2}, {10, 20})},
      KernelChoice::kReference);
  expect_close(r.outputs[0], f32({2, 2}, {2 + 5, 4 + 10, 6 + 5, 8 + 10}), 0.0, 1e-6f);
}

TEST(Gemm, FastMatchesReference) {
  // Classifier-style: B constant and transposed, bias vector.
  check_fast(make_node("Gemm", gemm_attrs(0, 1, 1, 1)),
             {random_f32({8, 64}, 30), random_f32({10, 64}, 31), random_f32({10}, 32)}, true);
  check_fast(make_node("Gemm", gemm_attrs(1, 1, 0.25f, 0.35f)),
             {random_f32({4, 3}, 33), random_f32({5, 4}, 34), random_f32({1, 5}, 35)}, true);
  check_fast(make_node("Gemm", gemm_attrs(1, 0, 1, 1)),
             {random_f32({6, 3}, 36), random_f32({6, 4}, 37), random_f32({3, 4}, 38)}, true, 1e-4f,
             false);
  check_fast(make_node("Gemm", gemm_attrs(0, 0, 0.5f, 1)),
             {random_f32({3, 5}, 39), random_f32({5, 4}, 40), random_f32({}, 41)}, true);
  check_fast(make_node("Gemm", gemm_attrs(0, 0, 1, 2)),
             {random_f32({3, 5}, 42), random_f32({5, 4}, 43), random_f32({3, 1}, 44)}, false);
  check_fast(make_node("Gemm"), {random_f32({2, 10}, 45), random_f32({10, 3}, 46)}, true);
}

// ------------------------------------------------------------------ Einsum

Node einsum(const std::string& eq) {
  Attributes at;
  at.set("equation", eq);
  return make_node("Einsum", at);
}

TEST(Einsum, ShapeRule) {
  EXPECT_EQ(out_shape(einsum("bij, bjk -> bik"),
                      {Tensor(DType::kF32, {5, 2, 3}), Tensor(DType::kF32, {5, 3, 4})}),
            (Shape{5, 2, 4}));
  EXPECT_EQ(out_shape(einsum("ij,jk"), {Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {3, 4})}),
            (Shape{2, 4}));
  EXPECT_EQ(out_shape(einsum("...ii->...i"), {Tensor(DType::kF32, {3, 5, 5})}), (Shape{3, 5}));
  EXPECT_EQ(out_shape(einsum("i,i"), {Tensor(DType::kF32, {5}), Tensor(DType::kF32, {5})}),
            (Shape{}));
  EXPECT_EQ(out_shape(einsum("ba"), {Tensor(DType::kF32, {2, 3})}), (Shape{3, 2}));
}

TEST(Einsum, BadEquationsThrow) {
  EXPECT_THROW(
      out_shape(einsum("ij,jk->ik"), {Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {4, 5})}),
      Error);
  EXPECT_THROW(out_shape(einsum("ij->k"), {Tensor(DType::kF32, {2, 3})}), Error);
  EXPECT_THROW(out_shape(einsum("ijk->i"), {Tensor(DType::kF32, {2, 3})}), Error);
}

TEST(Einsum, ReferenceHandComputed) {
  auto r = run_single_node(einsum("ij->ji"), {f32({2, 3}, {1, 2, 3, 4, 5, 6})},
                           KernelChoice::kReference);
  expect_close(r.outputs[0], f32({3, 2}, {1, 4, 2, 5, 3, 6}), 0.0, 0);
  r = run_single_node(einsum("ij->i"), {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, KernelChoice::kReference);
  expect_close(r.outputs[0], f32({2}, {6, 15}), 0.0, 0);
  r = run_single_node(einsum("i,i"), {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})},
                      KernelChoice::kReference);
  expect_close(r.outputs[0], f32({}, {32}), 0.0, 0);
  r = run_single_node(einsum("...ii->...i"), {f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})},
                      KernelChoice::kReference);
  expect_close(r.outputs[0], f32({2, 2}, {1, 4, 5, 8}), 0.0, 0);
  r = run_single_node(einsum("ii"), {f32({2, 2}, {1, 2, 3, 4})}, KernelChoice::kReference);
  expect_close(r.outputs[0], f32({}, {5}), 0.0, 0);
}

TEST(Einsum, BatchMatMulMatchesMatMul) {
  Tensor a = random_f32({5, 2, 3}, 50), b = random_f32({5, 3, 4}, 51);
  auto e = run_single_node(einsum("bij,bjk->bik"), {a, b}, KernelChoice::kFast);
  EXPECT_TRUE(e.used_fast);
  auto m = run_single_node(make_node("MatMul"), {a, b}, KernelChoice::kReference);
  expect_close(e.outputs[0], m.outputs[0], 0.0, 1e-5f);
  // Attention scores with a transposed key: bhid,bhjd->bhij.
  Tensor q = random_f32({2, 3, 4, 8}, 52), k = random_f32({2, 3, 5, 8}, 53);
  auto s = run_single_node(einsum("bhid,bhjd->bhij"), {q, k}, KernelChoice::kFast);
  EXPECT_TRUE(s.used_fast);
  auto kt = run_single_node(einsum("bhjd->bhdj"), {k}, KernelChoice::kReference).outputs[0];
  auto m2 = run_single_node(make_node("MatMul"), {q, kt}, KernelChoice::kReference);
  expect_close(s.outputs[0], m2.outputs[0], 0.0, 1e-5f);
}

TEST(Einsum, FastMatchesReference) {
  struct Case {
    const char* eq;
    Shape a, b;
    bool fast;
  };
  const std::vector<Case> cases = {
      {"ij,jk->ik", {3, 4}, {4, 5}, true},
      {"ij,kj->ik", {3, 4}, {5, 4}, true},        // B transposed
      {"ji,jk->ki", {4, 3}, {4, 5}, true},        // A transposed, output transposed
      {"bij,jk->bik", {2, 3, 4}, {4, 5}, false},  // b only in A and out: a second M
      {"i,i", {7}, {7}, true},                    // dot product: no M, no N
      {"i,j->ij", {3}, {4}, true},                // outer product: no K
      {"bhqd,bkhd->bhqk", {2, 3, 4, 8}, {2, 5, 3, 8}, true},
      {"...ij,...jk->...ik", {2, 3, 4}, {2, 4, 5}, true},
      {"ij,ij->i", {3, 4}, {3, 4}, true},  // row-wise dot: i is batch
      {"ij,jk", {3, 4}, {4, 5}, true},
      {"ij,ik->j", {3, 4}, {3, 5}, false},  // k summed alone
  };
  for (const Case& c : cases) {
    std::vector<Tensor> in{random_f32(c.a, 60), random_f32(c.b, 61)};
    auto ref = run_single_node(einsum(c.eq), in, KernelChoice::kReference);
    auto fast = run_single_node(einsum(c.eq), in, KernelChoice::kFast);
    if (c.fast) {
      EXPECT_TRUE(fast.used_fast) << c.eq;
    }
    expect_close(fast.outputs[0], ref.outputs[0], 0.0, 1e-5f);
  }
}

TEST(Einsum, Float64) {
  Tensor a = Tensor::from<double>({2, 2}, std::vector<double>{1, 2, 3, 4});
  auto r = run_single_node(einsum("ij,jk->ik"), {a, a}, KernelChoice::kReference);
  EXPECT_EQ(r.outputs[0].dtype(), DType::kF64);
  EXPECT_EQ(r.outputs[0].to_double(), (std::vector<double>{7, 10, 15, 22}));
}

}  // namespace
}  // namespace save
