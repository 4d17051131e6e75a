#include "passes/activation_patterns.hpp"

#include <cmath>
#include <optional>

#include "passes/pass_util.hpp"

namespace save {

namespace {

using passes::near;
using passes::other_input;
using passes::scalar_f32;
using passes::sole_consumer;

struct Match {
  ValueId x = kNoId;          // the activation's input
  NodeId last = kNoId;        // the node whose output the activation writes
  std::vector<NodeId> nodes;  // every node of the pattern (dropped but `last`)
};

// The node `v` feeds alone, if it has op `op`.
NodeId sole(const Graph& g, ValueId v, const char* op) {
  NodeId c = sole_consumer(g, v);
  return c != kNoId && g.nodes[c].op == op && g.nodes[c].outputs.size() == 1 ? c : kNoId;
}

// Node n is a binary `op` of `v` and a scalar constant close to `k`.
bool by_const(const Graph& g, NodeId n, const char* op, ValueId v, double k, bool divisor_only) {
  if (n == kNoId || g.nodes[n].op != op) return false;
  const Node& node = g.nodes[n];
  if (divisor_only && (node.inputs.size() != 2 || node.inputs[0] != v)) return false;
  auto c = scalar_f32(g, other_input(node, v));
  return c && near(*c, k);
}

// v * 1/6 or v / 6 as the single reader of v: that node, else kNoId.
NodeId div6(const Graph& g, ValueId v) {
  NodeId c = sole_consumer(g, v);
  if (by_const(g, c, "Div", v, 6.0, true) || by_const(g, c, "Mul", v, 1.0 / 6.0, false)) return c;
  return kNoId;
}

// Clip(v, 0, 6) (inputs or attributes) or its Relu6 spelling.
bool is_relu6(const Graph& g, const Node& n) {
  if (n.op != "Clip" || n.outputs.size() != 1) return false;
  if (n.attrs.has("min") || n.attrs.has("max"))
    return near(n.attrs.get_float("min", -1), 0) && near(n.attrs.get_float("max", -1), 6);
  if (n.inputs.size() != 3) return false;
  auto lo = scalar_f32(g, n.inputs[1]), hi = scalar_f32(g, n.inputs[2]);
  return lo && hi && near(*lo, 0) && near(*hi, 6);
}

// From Add(x, 3): x * clip(x + 3, 0, 6) / 6 in its spellings.
std::optional<Match> hardswish_from_add(const Graph& g, NodeId a) {
  const Node& add = g.nodes[a];
  if (add.op != "Add" || add.inputs.size() != 2) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    ValueId x = add.inputs[side];
    auto three = scalar_f32(g, add.inputs[1 - side]);
    if (!three || !near(*three, 3) || g.values[x].constant) continue;
    NodeId c = sole_consumer(g, add.outputs[0]);
    if (c == kNoId || !is_relu6(g, g.nodes[c])) continue;
    ValueId cv = g.nodes[c].outputs[0];
    // (x * clip) / 6
    NodeId m = sole(g, cv, "Mul");
    if (m != kNoId && other_input(g.nodes[m], cv) == x) {
      NodeId d = div6(g, g.nodes[m].outputs[0]);
      if (d != kNoId) return Match{x, d, {a, c, m, d}};
    }
    // x * (clip / 6)
    NodeId d = div6(g, cv);
    if (d != kNoId) {
      NodeId m2 = sole(g, g.nodes[d].outputs[0], "Mul");
      if (m2 != kNoId && other_input(g.nodes[m2], g.nodes[d].outputs[0]) == x)
        return Match{x, m2, {a, c, d, m2}};
    }
  }
  return std::nullopt;
}

// HardSigmoid(x; 1/6, 1/2) * x.
std::optional<Match> hardswish_from_hardsigmoid(const Graph& g, NodeId h) {
  const Node& hs = g.nodes[h];
  if (hs.op != "HardSigmoid" || hs.inputs.size() != 1 || hs.outputs.size() != 1)
    return std::nullopt;
  if (!near(hs.attrs.get_float("alpha", 0.2f), 1.0 / 6.0) ||
      !near(hs.attrs.get_float("beta", 0.5f), 0.5))
    return std::nullopt;
  ValueId x = hs.inputs[0];
  NodeId m = sole(g, hs.outputs[0], "Mul");
  if (m == kNoId || other_input(g.nodes[m], hs.outputs[0]) != x) return std::nullopt;
  return Match{x, m, {h, m}};
}

// The tail shared by both Gelu forms, from p = 1 + f(x): 0.5 * x * p in
// the three orders. Returns the match with `nodes` appended.
std::optional<Match> gelu_tail(const Graph& g, ValueId x, ValueId p, std::vector<NodeId> nodes) {
  NodeId m = sole(g, p, "Mul");
  if (m == kNoId) return std::nullopt;
  ValueId u = other_input(g.nodes[m], p);
  ValueId mo = g.nodes[m].outputs[0];
  nodes.push_back(m);
  if (u == x) {  // (x * p) * 0.5
    NodeId h = sole(g, mo, "Mul");
    if (!by_const(g, h, "Mul", mo, 0.5, false)) return std::nullopt;
    nodes.push_back(h);
    return Match{x, h, nodes};
  }
  if (u != kNoId && !g.values[u].constant) {  // (x * 0.5) * p
    NodeId h = g.values[u].producer;
    if (h == kNoId || sole_consumer(g, u) != m || !by_const(g, h, "Mul", x, 0.5, false))
      return std::nullopt;
    nodes.push_back(h);
    return Match{x, m, nodes};
  }
  // x * (p * 0.5)
  if (by_const(g, m, "Mul", p, 0.5, false)) {
    NodeId m2 = sole(g, mo, "Mul");
    if (m2 == kNoId || other_input(g.nodes[m2], mo) != x) return std::nullopt;
    nodes.push_back(m2);
    return Match{x, m2, nodes};
  }
  return std::nullopt;
}

// From Erf(x / sqrt 2).
std::optional<Match> gelu_erf(const Graph& g, NodeId e) {
  const Node& erf = g.nodes[e];
  if (erf.op != "Erf" || erf.inputs.size() != 1) return std::nullopt;
  ValueId d = erf.inputs[0];
  NodeId dn = g.values[d].producer;
  if (dn == kNoId || sole_consumer(g, d) != e) return std::nullopt;
  const Node& div = g.nodes[dn];
  if (div.inputs.size() != 2) return std::nullopt;
  ValueId x = div.inputs[0];
  bool ok =
      (div.op == "Div" && scalar_f32(g, div.inputs[1]) &&
       near(*scalar_f32(g, div.inputs[1]), std::sqrt(2.0))) ||
      (div.op == "Mul" &&
       ((scalar_f32(g, div.inputs[1]) && near(*scalar_f32(g, div.inputs[1]), 1 / std::sqrt(2.0))) ||
        (scalar_f32(g, div.inputs[0]) && near(*scalar_f32(g, div.inputs[0]), 1 / std::sqrt(2.0)) &&
         (x = div.inputs[1], true))));
  if (!ok || g.values[x].constant) return std::nullopt;
  NodeId a = sole(g, erf.outputs[0], "Add");
  if (!by_const(g, a, "Add", erf.outputs[0], 1.0, false)) return std::nullopt;
  return gelu_tail(g, x, g.nodes[a].outputs[0], {dn, e, a});
}

// From Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)).
std::optional<Match> gelu_tanh(const Graph& g, NodeId t) {
  const Node& th = g.nodes[t];
  if (th.op != "Tanh" || th.inputs.size() != 1) return std::nullopt;
  std::vector<NodeId> nodes;
  auto producer_of = [&](ValueId v, NodeId reader, const char* op) -> NodeId {
    NodeId p = v == kNoId ? kNoId : g.values[v].producer;
    if (p == kNoId || g.nodes[p].op != op || sole_consumer(g, v) != reader) return kNoId;
    nodes.push_back(p);
    return p;
  };
  NodeId k = producer_of(th.inputs[0], t, "Mul");  // sqrt(2/pi) * s
  if (k == kNoId) return std::nullopt;
  ValueId s = kNoId;
  for (int side = 0; side < 2; ++side) {
    auto c = scalar_f32(g, g.nodes[k].inputs[side]);
    if (c && near(*c, std::sqrt(2.0 / M_PI), 1e-5)) s = g.nodes[k].inputs[1 - side];
  }
  NodeId add = producer_of(s, k, "Add");  // x + 0.044715 * x^3
  if (add == kNoId) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    ValueId x = g.nodes[add].inputs[side];
    ValueId cube_scaled = g.nodes[add].inputs[1 - side];
    std::vector<NodeId> keep = nodes;
    NodeId c1 = producer_of(cube_scaled, add, "Mul");  // 0.044715 * x^3
    if (c1 == kNoId) continue;
    ValueId cube = kNoId;
    for (int s2 = 0; s2 < 2; ++s2) {
      auto c = scalar_f32(g, g.nodes[c1].inputs[s2]);
      if (c && near(*c, 0.044715, 1e-5)) cube = g.nodes[c1].inputs[1 - s2];
    }
    NodeId pw = cube == kNoId ? kNoId : g.values[cube].producer;
    bool cube_ok = false;
    if (pw != kNoId && sole_consumer(g, cube) == c1) {
      const Node& pn = g.nodes[pw];
      if (pn.op == "Pow" && pn.inputs.size() == 2 && pn.inputs[0] == x) {
        auto e = scalar_f32(g, pn.inputs[1]);
        cube_ok = e && *e == 3.f;
        if (cube_ok) nodes.push_back(pw);
      } else if (pn.op == "Mul" && pn.inputs.size() == 2) {
        // (x * x) * x in either order
        ValueId sq = other_input(pn, x);
        NodeId sqn = sq == kNoId ? kNoId : g.values[sq].producer;
        if (sqn != kNoId && sole_consumer(g, sq) == pw && g.nodes[sqn].op == "Mul" &&
            g.nodes[sqn].inputs.size() == 2 && g.nodes[sqn].inputs[0] == x &&
            g.nodes[sqn].inputs[1] == x) {
          cube_ok = true;
          nodes.push_back(pw);
          nodes.push_back(sqn);
        }
      }
    }
    if (!cube_ok || g.values[x].constant) {
      nodes = keep;
      continue;
    }
    NodeId a1 = sole(g, th.outputs[0], "Add");
    if (!by_const(g, a1, "Add", th.outputs[0], 1.0, false)) return std::nullopt;
    nodes.push_back(t);
    nodes.push_back(a1);
    return gelu_tail(g, x, g.nodes[a1].outputs[0], nodes);
  }
  return std::nullopt;
}

}  // namespace

size_t rewrite_activation_patterns(Graph& g) {
  size_t rewritten = 0;
  std::vector<bool> drop(g.nodes.size(), false), touched(g.nodes.size(), false);
  const size_t n0 = g.nodes.size();
  for (NodeId n = 0; n < n0; ++n) {
    if (touched[n]) continue;
    std::optional<Match> m;
    std::string op, approx;
    if ((m = hardswish_from_add(g, n)) || (m = hardswish_from_hardsigmoid(g, n))) {
      op = "HardSwish";
    } else if ((m = gelu_erf(g, n))) {
      op = "Gelu";
    } else if ((m = gelu_tanh(g, n))) {
      op = "Gelu";
      approx = "tanh";
    }
    if (!m) continue;
    // Links of nodes an earlier rewrite touched are stale until the graph
    // is re-linked: leave overlapping patterns to the next run.
    bool free = true;
    for (NodeId k : m->nodes) free = free && !touched[k];
    if (!free) continue;
    for (NodeId k : m->nodes) touched[k] = true;
    // The activation takes the last node's place (x is produced before any
    // node of the pattern, the output read only after it).
    Node act;
    act.name = g.nodes[m->last].name;
    act.op = op;
    if (!approx.empty()) act.attrs.set("approximate", approx);
    act.inputs = {m->x};
    act.outputs = {g.nodes[m->last].outputs[0]};
    for (NodeId k : m->nodes) drop[k] = true;
    drop[m->last] = false;
    g.nodes[m->last] = std::move(act);
    ++rewritten;
  }
  if (rewritten > 0) passes::drop_nodes(g, drop);
  return rewritten;
}

}  // namespace save
