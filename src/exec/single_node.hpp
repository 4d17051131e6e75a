// Runs one node on concrete tensors, outside any graph: the planner uses it to
// fold constants, the per-op tests to compare the fast kernel against the
// reference and both against expected values.
#pragma once

#include <vector>

#include "core/tensor.hpp"
#include "ir/graph.hpp"
#include "ops/op.hpp"

namespace save {

enum class KernelChoice { kReference, kFast };

struct SingleNodeResult {
  std::vector<Tensor> outputs;
  bool used_fast = false;  // false when the op has no fast kernel or declined
};

// `inputs[i]` undefined (Tensor{}) marks an omitted optional input. The
// node's inputs/outputs ids are ignored; only its op, name and attributes
// matter. When `inputs_are_constant` is set, the shape rule sees every input
// as a plan-time constant (needed for Reshape's shape and the like).
SingleNodeResult run_single_node(const Node& node, const std::vector<Tensor>& inputs,
                                 KernelChoice choice, int64_t opset = 17,
                                 bool inputs_are_constant = true, size_t num_outputs = 0);

// Infers output infos only.
std::vector<TensorInfo> infer_single_node(const Node& node, const std::vector<Tensor>& inputs,
                                          int64_t opset = 17, bool inputs_are_constant = true,
                                          size_t num_outputs = 0);

}  // namespace save
