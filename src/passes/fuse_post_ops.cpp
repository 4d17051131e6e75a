#include "passes/fuse_post_ops.hpp"

#include <limits>

#include "ops/fused.hpp"
#include "passes/pass_util.hpp"

namespace save {

namespace {

using passes::other_input;
using passes::scalar_f32;
using passes::sole_consumer;

// One link: the post-op, the nodes it consumes, its output value and (for
// binary ones) the operand.
struct Link {
  PostOp op;
  std::vector<NodeId> nodes;
  ValueId out = kNoId;
  ValueId operand = kNoId;
};

Link make_link(const std::string& op, std::vector<NodeId> nodes, ValueId out,
               ValueId operand = kNoId, float alpha = 0, float beta = 0) {
  Link l;
  l.op.op = op;
  l.op.alpha = alpha;
  l.op.beta = beta;
  l.nodes = std::move(nodes);
  l.out = out;
  l.operand = operand;
  return l;
}

// Clip's bounds when they are constants (inputs from opset 11, attributes
// before), or nullopt.
std::optional<std::pair<float, float>> clip_bounds(const Graph& g, const Node& n) {
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (n.attrs.has("min")) lo = n.attrs.get_float("min", lo);
  if (n.attrs.has("max")) hi = n.attrs.get_float("max", hi);
  for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
    if (n.inputs[i] == kNoId) continue;
    auto v = scalar_f32(g, n.inputs[i]);
    if (!v) return std::nullopt;
    (i == 1 ? lo : hi) = *v;
  }
  return std::make_pair(lo, hi);
}

// The link that consumes `v`, if any.
std::optional<Link> next_link(const Graph& g, ValueId v, const std::vector<bool>& used) {
  const Value& val = g.values[v];
  if (val.is_graph_output || val.producer == kNoId) return std::nullopt;
  // swish: v read by exactly Sigmoid(v) and Mul(v, sigmoid(v)).
  if (val.consumers.size() == 2) {
    for (int k = 0; k < 2; ++k) {
      NodeId s = val.consumers[k], m = val.consumers[1 - k];
      const Node &sn = g.nodes[s], &mn = g.nodes[m];
      if (used[s] || used[m] || sn.op != "Sigmoid" || mn.op != "Mul" || sn.outputs.size() != 1)
        continue;
      if (sole_consumer(g, sn.outputs[0]) != m || other_input(mn, v) != sn.outputs[0]) continue;
      return make_link("Swish", {s, m}, mn.outputs[0]);
    }
    return std::nullopt;
  }
  NodeId c = sole_consumer(g, v);
  if (c == kNoId || used[c]) return std::nullopt;
  const Node& n = g.nodes[c];
  if (n.outputs.size() != 1 || n.inputs.empty()) return std::nullopt;
  if (!n.domain.empty()) return std::nullopt;
  const std::string& op = n.op;
  if (op == "Add" || op == "Mul") {
    ValueId other = other_input(n, v);
    if (other == kNoId) return std::nullopt;
    return make_link(op, {c}, n.outputs[0], other);
  }
  if (n.inputs[0] != v) return std::nullopt;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish")
    return make_link(op, {c}, n.outputs[0]);
  if (op == "LeakyRelu")
    return make_link(op, {c}, n.outputs[0], kNoId, n.attrs.get_float("alpha", 0.01f));
  if (op == "HardSigmoid")
    return make_link(op, {c}, n.outputs[0], kNoId, n.attrs.get_float("alpha", 0.2f),
                     n.attrs.get_float("beta", 0.5f));
  if (op == "Gelu") {
    std::string a = n.attrs.get_string("approximate", "none");
    if (a != "none" && a != "tanh") return std::nullopt;
    return make_link(a == "tanh" ? "GeluTanh" : "Gelu", {c}, n.outputs[0]);
  }
  if (op == "Clip") {
    auto b = clip_bounds(g, n);
    if (!b) return std::nullopt;
    return make_link(op, {c}, n.outputs[0], kNoId, b->first, b->second);
  }
  return std::nullopt;
}

}  // namespace

size_t fuse_post_ops(Graph& g) {
  size_t removed = 0;
  std::vector<bool> used(g.nodes.size(), false), drop(g.nodes.size(), false);
  const size_t n0 = g.nodes.size();
  for (NodeId b = 0; b < n0; ++b) {
    if (used[b]) continue;
    const Node& base = g.nodes[b];
    const std::string fused = fused_op_type(base.op);
    if (fused.empty() || !base.domain.empty() || base.outputs.size() != 1 ||
        base.outputs[0] == kNoId)
      continue;
    const size_t nb = base_input_count(base.op);
    if (base.inputs.size() > nb) continue;
    std::vector<Link> chain;
    ValueId cur = base.outputs[0];
    used[b] = true;
    while (auto link = next_link(g, cur, used)) {
      for (NodeId k : link->nodes) used[k] = true;
      chain.push_back(*link);
      cur = link->out;
    }
    if (chain.empty()) continue;
    Node f;
    f.name = base.name;
    f.op = fused;
    f.domain = kSaveDomain;
    f.attrs = base.attrs;
    f.inputs = base.inputs;
    f.inputs.resize(nb, kNoId);
    std::vector<PostOp> ops;
    for (const Link& l : chain) {
      ops.push_back(l.op);
      if (l.operand != kNoId) f.inputs.push_back(l.operand);
    }
    set_post_ops(f, ops);
    f.outputs = {cur};
    // The fused node takes the place of the chain's last node: every operand
    // is produced before the link that reads it.
    const NodeId last = chain.back().nodes.back();
    drop[b] = true;
    for (const Link& l : chain)
      for (NodeId k : l.nodes) drop[k] = true;
    drop[last] = false;
    for (const Link& l : chain) removed += l.nodes.size();
    g.nodes[last] = std::move(f);
  }
  if (removed > 0) passes::drop_nodes(g, drop);
  return removed;
}

}  // namespace save
