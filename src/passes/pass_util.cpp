#include "passes/pass_util.hpp"

#include <cmath>

namespace save::passes {

const Tensor* const_f32(const Graph& g, ValueId v) {
  if (v == kNoId || !g.values[v].constant) return nullptr;
  const Tensor& t = *g.values[v].constant;
  return t.dtype() == DType::kF32 ? &t : nullptr;
}

std::optional<float> scalar_f32(const Graph& g, ValueId v) {
  const Tensor* t = const_f32(g, v);
  if (t == nullptr || t->numel() != 1) return std::nullopt;
  return t->ptr<float>()[0];
}

ValueId add_constant(Graph& g, const std::string& name, Tensor t) {
  Value v;
  v.name = name;
  v.dtype = t.dtype();
  v.constant = std::move(t);
  g.values.push_back(std::move(v));
  return static_cast<ValueId>(g.values.size() - 1);
}

NodeId sole_consumer(const Graph& g, ValueId v) {
  if (v == kNoId) return kNoId;
  const Value& val = g.values[v];
  if (val.producer == kNoId || val.is_graph_output || val.consumers.size() != 1) return kNoId;
  return val.consumers[0];
}

ValueId other_input(const Node& n, ValueId v) {
  if (n.inputs.size() != 2) return kNoId;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return kNoId;
}

void drop_nodes(Graph& g, const std::vector<bool>& drop) {
  std::vector<Node> kept;
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (!drop[n]) kept.push_back(std::move(g.nodes[n]));
  g.nodes = std::move(kept);
  g.link();
}

bool near(float a, double b, double tol) {
  return std::abs(static_cast<double>(a) - b) <= tol * std::max(1.0, std::abs(b));
}

}  // namespace save::passes
