#include "passes/layernorm_pattern.hpp"

#include "passes/pass_util.hpp"

namespace save {

namespace {

using passes::other_input;
using passes::scalar_f32;
using passes::sole_consumer;

// A ReduceMean over the last axis only, keeping dims (axes as attribute or,
// from opset 18, as a constant input).
bool mean_last_axis(const Graph& g, const Node& n) {
  if (n.op != "ReduceMean" || n.outputs.size() != 1 || n.inputs.empty()) return false;
  if (n.attrs.get_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes = n.attrs.get_ints("axes");
  if (n.inputs.size() > 1 && n.inputs[1] != kNoId) {
    const Value& a = g.values[n.inputs[1]];
    if (!a.constant || a.constant->dtype() != DType::kI64) return false;
    axes = a.constant->to_int64();
  }
  return axes == std::vector<int64_t>{-1};
}

// The node `v` feeds alone, if it has op `op`.
NodeId sole(const Graph& g, ValueId v, const char* op) {
  NodeId c = sole_consumer(g, v);
  return c != kNoId && g.nodes[c].op == op && g.nodes[c].outputs.size() == 1 ? c : kNoId;
}

struct Match {
  ValueId x, gamma, beta = kNoId;
  float eps;
  NodeId last;
  std::vector<NodeId> nodes;
};

std::optional<Match> match(const Graph& g, NodeId m1) {
  const Node& mean = g.nodes[m1];
  if (!mean_last_axis(g, mean)) return std::nullopt;
  const ValueId x = mean.inputs[0];
  const ValueId mv = mean.outputs[0];
  NodeId sub = sole(g, mv, "Sub");
  if (sub == kNoId || g.nodes[sub].inputs[0] != x || g.nodes[sub].inputs[1] != mv)
    return std::nullopt;
  const ValueId d = g.nodes[sub].outputs[0];
  const Value& dv = g.values[d];
  if (dv.is_graph_output) return std::nullopt;
  // d's readers: the square (Pow(d, 2), or d * d: listed twice) and the
  // division, nothing else.
  NodeId sq = kNoId, div = kNoId;
  size_t uses = 0;
  for (NodeId c : dv.consumers) {
    const Node& n = g.nodes[c];
    if (n.op == "Div" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] != d) {
      div = c;
      uses += 1;
    } else if (n.op == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] != d) {
      auto e = scalar_f32(g, n.inputs[1]);
      if (e && *e == 2.f) sq = c, uses += 1;
    } else if (n.op == "Mul" && n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == d) {
      sq = c;
      uses += 1;  // counted once per entry: two entries
    }
  }
  if (sq == kNoId || div == kNoId || uses != dv.consumers.size()) return std::nullopt;
  NodeId m2 = sole_consumer(g, g.nodes[sq].outputs[0]);
  if (m2 == kNoId || !mean_last_axis(g, g.nodes[m2])) return std::nullopt;
  NodeId add = sole(g, g.nodes[m2].outputs[0], "Add");
  if (add == kNoId) return std::nullopt;
  auto eps = scalar_f32(g, other_input(g.nodes[add], g.nodes[m2].outputs[0]));
  if (!eps || !(*eps >= 0)) return std::nullopt;
  NodeId sqrt = sole(g, g.nodes[add].outputs[0], "Sqrt");
  if (sqrt == kNoId || sole_consumer(g, g.nodes[sqrt].outputs[0]) != div ||
      g.nodes[div].inputs[1] != g.nodes[sqrt].outputs[0])
    return std::nullopt;
  // * gamma (required: LayerNormalization's Scale), then + beta (optional).
  const ValueId n = g.nodes[div].outputs[0];
  NodeId mul = sole(g, n, "Mul");
  if (mul == kNoId) return std::nullopt;
  const ValueId gamma = other_input(g.nodes[mul], n);
  if (gamma == kNoId || !passes::const_f32(g, gamma) || passes::const_f32(g, gamma)->rank() != 1)
    return std::nullopt;
  Match r{x, gamma, kNoId, *eps, mul, {m1, sub, sq, m2, add, sqrt, div, mul}};
  const ValueId y = g.nodes[mul].outputs[0];
  NodeId badd = sole(g, y, "Add");
  if (badd != kNoId) {
    const ValueId beta = other_input(g.nodes[badd], y);
    const Tensor* b = passes::const_f32(g, beta);
    if (b && b->rank() == 1 && b->numel() == passes::const_f32(g, gamma)->numel()) {
      r.beta = beta;
      r.last = badd;
      r.nodes.push_back(badd);
    }
  }
  return r;
}

}  // namespace

size_t rewrite_layernorm_pattern(Graph& g) {
  size_t rewritten = 0;
  std::vector<bool> drop(g.nodes.size(), false), touched(g.nodes.size(), false);
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    if (touched[n]) continue;
    std::optional<Match> m = match(g, n);
    if (!m) continue;
    bool free = true;
    for (NodeId k : m->nodes) free = free && !touched[k];
    if (!free) continue;
    Node ln;
    ln.name = g.nodes[m->last].name;
    ln.op = "LayerNormalization";
    ln.attrs.set("axis", int64_t{-1});
    ln.attrs.set("epsilon", m->eps);
    ln.inputs = {m->x, m->gamma};
    if (m->beta != kNoId) ln.inputs.push_back(m->beta);
    ln.outputs = {g.nodes[m->last].outputs[0]};
    for (NodeId k : m->nodes) touched[k] = drop[k] = true;
    drop[m->last] = false;
    g.nodes[m->last] = std::move(ln);
    ++rewritten;
  }
  if (rewritten > 0) passes::drop_nodes(g, drop);
  return rewritten;
}

}  // namespace save
