// Small helpers for tests that build a Graph by hand (campaign and plan
// tests): random float32 tensors and float32 values with declared shapes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "inject/rng.hpp"
#include "ir/graph.hpp"

namespace save::test {

// Values uniform in [lo, hi), from `rng`.
inline Tensor random_tensor(Shape shape, Rng& rng, float lo, float hi) {
  Tensor t(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.ptr<float>()[i] =
        lo + (hi - lo) * static_cast<float>(rng.below(1u << 20)) / static_cast<float>(1u << 20);
  return t;
}

// A float32 value with a declared shape.
inline ValueId add_value(Graph& g, const std::string& name, std::vector<Dim> shape) {
  Value v;
  v.name = name;
  v.dtype = DType::kF32;
  v.shape = std::move(shape);
  v.has_shape = true;
  g.values.push_back(std::move(v));
  return static_cast<ValueId>(g.values.size() - 1);
}

// A constant value holding `t`.
inline ValueId add_constant(Graph& g, const std::string& name, Tensor t) {
  std::vector<Dim> dims;
  for (int64_t d : t.shape()) dims.push_back({d, ""});
  ValueId id = add_value(g, name, dims);
  g.values[id].constant = std::move(t);
  return id;
}

}  // namespace save::test
