// Subgraphs (ir/graph.hpp: Subgraph) evaluated inside the control-flow ops
// (ops/control_flow.cpp): If's branches, Loop's and Scan's body. A subgraph
// is small and runs once per branch taken or per iteration, so it is not
// planned: it is walked node by node with each op's own shape rule and
// reference kernel, and its interval propagation with each op's interval
// rule. Execution is shape inference with every input a constant: every node
// folds, so one walk serves both (the planner's folding, exec/plan.cpp, done
// the same way).
#pragma once

#include <optional>
#include <vector>

#include "core/tensor.hpp"
#include "ir/graph.hpp"
#include "ops/interval.hpp"
#include "ops/op.hpp"

namespace save {

// Per output of the subgraph: its type and shape, and its value when the
// inputs given as constants determine it.
struct SubgraphInfo {
  std::vector<TensorInfo> outputs;
  std::vector<std::optional<Tensor>> constants;
};

// `inputs` and `constants` follow sg.graph.inputs (formal inputs, then the
// captures); constants[i] may be nullptr. Errors are prefixed with the
// owning node's label.
SubgraphInfo infer_subgraph(const Subgraph& sg, const Node& owner,
                            const std::vector<TensorInfo>& inputs,
                            const std::vector<const Tensor*>& constants);

// Runs the subgraph on concrete inputs (in sg.graph.inputs order).
std::vector<Tensor> run_subgraph(const Subgraph& sg, const Node& owner,
                                 const std::vector<Tensor>& inputs);

// Bounds of the subgraph's outputs from bounds of its inputs (in
// sg.graph.inputs order; present but unknown inputs: Bounds::unbounded).
std::vector<Bounds> interval_subgraph(const Subgraph& sg, const Node& owner,
                                      const std::vector<Bounds>& inputs,
                                      const IntervalOptions& opts);

// ---- helpers of the control-flow ops ----
// The graph attribute `name` of `n`; throws naming the node when absent.
const Subgraph& graph_attr(const Node& n, const char* name);
// Copy of a view (owning).
Tensor copy_of(const TensorView& v);
// The slice x[..., idx, ...] along `axis` (that axis removed).
Tensor slice_axis(const TensorView& x, int64_t axis, int64_t idx);
// Writes `src` into dst[..., idx, ...] along `axis` (src lacks that axis).
void place_axis(const TensorView& dst, int64_t axis, int64_t idx, const TensorView& src);
// Smallest box holding both (elementwise min of lo, max of hi); unknown
// when either is.
Bounds hull(const Bounds& a, const Bounds& b);
// Same known-ness and the same bytes.
bool same_bounds(const Bounds& a, const Bounds& b);

}  // namespace save
