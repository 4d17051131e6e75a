// Small graph-editing helpers shared by the passes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace save::passes {

// The float32 constant behind `v`, or null.
const Tensor* const_f32(const Graph& g, ValueId v);
// A one-element float32 constant's value.
std::optional<float> scalar_f32(const Graph& g, ValueId v);
// Adds a constant value; returns its id (g.values may reallocate).
ValueId add_constant(Graph& g, const std::string& name, Tensor t);
// The node that alone reads `v` (once), when `v` is produced by a node and is
// not a graph output; kNoId otherwise. What a rewrite that makes `v`
// disappear needs.
NodeId sole_consumer(const Graph& g, ValueId v);
// The input of node `n` other than `v` for a two-input node reading `v`
// once; kNoId otherwise.
ValueId other_input(const Node& n, ValueId v);
// Removes the nodes marked in `drop` and re-links the graph.
void drop_nodes(Graph& g, const std::vector<bool>& drop);
bool near(float a, double b, double tol = 1e-6);

}  // namespace save::passes
