// Helpers shared by the op unit tests in tests/ops/. Every *_test.cpp here used
// to carry its own near-identical copy of these (node construction, seeded
// random / iota / filled f32 tensors, element-wise closeness); keeping one copy
// means one definition of "close" and one RNG recipe, so random test inputs stay
// reproducible across files. Header-only: each test binary is one .cpp.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "ir/graph.hpp"

namespace save::test {

// A node named "n0" running `op` with `attrs`.
inline Node make_node(const std::string& op, Attributes attrs = {}) {
  Node n;
  n.name = "n0";
  n.op = op;
  n.attrs = std::move(attrs);
  return n;
}

// f32 tensor of uniform values in [lo, hi) from std::mt19937(seed), drawn in
// element order.
inline Tensor random_f32(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kF32, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(gen);
  return t;
}

// f32 tensor with element i = start + step * i.
inline Tensor iota_f32(Shape shape, float start = 0.f, float step = 1.f) {
  Tensor t(DType::kF32, std::move(shape));
  float* p = t.ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = start + step * static_cast<float>(i);
  return t;
}

// f32 tensor with every element `v`.
inline Tensor filled_f32(Shape shape, float v) {
  Tensor t(DType::kF32, std::move(shape));
  float* p = t.ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = v;
  return t;
}

// Same dtype and shape, and |got - want| <= atol + rtol * |want| per element
// (compared in double); stops at the first mismatch, naming its flat index.
inline void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  auto g = got.to_double(), w = want.to_double();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], atol + rtol * std::abs(w[i])) << "at " << i;
}

// The elements of `t` as a std::vector<T>.
template <typename T>
std::vector<T> vals(const Tensor& t) {
  auto s = t.values<T>();
  return {s.begin(), s.end()};
}

}  // namespace save::test
