// Helpers shared by the benchmarks: statistics, random inputs, one-node
// models, and the FLOP count of a plan's Conv/MatMul/Gemm steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "core/tensor.hpp"
#include "exec/plan.hpp"
#include "ir/graph.hpp"

#ifndef SAVE_PEAK_GFLOPS_PER_CORE
#define SAVE_PEAK_GFLOPS_PER_CORE 117.0
#endif

namespace save::bench {

// Nominal fp32 peak of one core of the benchmark machine (AVX2: two 8-wide
// FMA pipes at about 3.66 GHz = 117 GFLOP/s). Set with the CMake cache
// variable SAVE_PEAK_GFLOPS_PER_CORE.
inline constexpr double kPeakGflopsPerCore = SAVE_PEAK_GFLOPS_PER_CORE;

// float32 tensor with elements uniform in [lo, hi).
inline Tensor random_tensor(Shape shape, std::mt19937& rng, float lo = 0.f, float hi = 1.f) {
  Tensor t(DType::kF32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

// A graph of one node: `runtime` inputs are graph inputs (fixed shapes),
// `weights` are constants; one float32 output named "y".
struct OneNodeInput {
  std::string name;
  Shape shape;      // graph inputs
  Tensor constant;  // weights (defined() marks a constant)
};
inline Graph one_node_graph(const std::string& op, const Attributes& attrs,
                            const std::vector<OneNodeInput>& inputs) {
  Graph g;
  g.opset = 17;
  g.producer_name = "save-bench";
  Node n;
  n.name = op + "_0";
  n.op = op;
  n.attrs = attrs;
  for (const OneNodeInput& in : inputs) {
    Value v;
    v.name = in.name;
    v.dtype = DType::kF32;
    v.has_shape = true;
    if (in.constant.defined()) {
      for (int64_t d : in.constant.shape()) v.shape.push_back(Dim{d, ""});
      v.constant = in.constant;
    } else {
      for (int64_t d : in.shape) v.shape.push_back(Dim{d, ""});
      v.is_graph_input = true;
      g.inputs.push_back(static_cast<ValueId>(g.values.size()));
    }
    n.inputs.push_back(static_cast<ValueId>(g.values.size()));
    g.values.push_back(std::move(v));
  }
  Value y;
  y.name = "y";
  y.dtype = DType::kF32;
  y.is_graph_output = true;
  n.outputs.push_back(static_cast<ValueId>(g.values.size()));
  g.outputs.push_back(static_cast<ValueId>(g.values.size()));
  g.values.push_back(std::move(y));
  g.nodes.push_back(std::move(n));
  g.link();
  return g;
}

// Multiply-add FLOPs (2 per MAC) of the Conv, MatMul and Gemm steps of a
// plan, from the planned shapes. Bias and post-ops are not counted.
struct PlanFlops {
  double conv = 0;
  double matmul = 0;  // MatMul and Gemm
  int conv_steps = 0, matmul_steps = 0, fast_steps = 0, steps = 0;
};
inline PlanFlops plan_flops(const Plan& plan) {
  PlanFlops f;
  const Graph& g = plan.graph();
  for (const PlannedStep& st : plan.steps()) {
    ++f.steps;
    f.fast_steps += st.fast != nullptr;
    const Node& node = g.nodes[st.node];
    if (st.outputs.empty() || st.outputs[0] == kNoId) continue;
    double out = static_cast<double>(shape_numel(plan.values()[st.outputs[0]].info.shape));
    auto in_shape = [&](size_t i) -> const Shape& {
      return plan.values()[st.inputs[i]].info.shape;
    };
    if (node.op == "Conv" && st.inputs.size() >= 2) {
      const Shape& w = in_shape(1);  // M x C/group x k...
      double per_out = 1;
      for (size_t d = 1; d < w.size(); ++d) per_out *= static_cast<double>(w[d]);
      f.conv += 2 * out * per_out;
      ++f.conv_steps;
    } else if (node.op == "MatMul" && st.inputs.size() >= 2) {
      const Shape& a = in_shape(0);
      double k = a.empty() ? 1 : static_cast<double>(a.back());
      f.matmul += 2 * out * k;
      ++f.matmul_steps;
    } else if (node.op == "Gemm" && st.inputs.size() >= 2) {
      const Shape& a = in_shape(0);
      bool trans_a = node.attrs.get_int("transA", 0) != 0;
      double k = a.size() == 2 ? static_cast<double>(trans_a ? a[0] : a[1]) : 1;
      f.matmul += 2 * out * k;
      ++f.matmul_steps;
    }
  }
  return f;
}

}  // namespace save::bench
