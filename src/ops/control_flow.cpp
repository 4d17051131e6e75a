// Control flow: If and Loop (Scan: ops/scan.cpp). Each holds subgraphs
// (ir/graph.hpp: Subgraph) whose captured outer values arrive as the node's
// trailing inputs; ops/subgraph_eval.hpp walks them. Tensors only: sequence
// and optional values (test_if_seq, test_loop13_seq, test_if_opt) are not
// supported.
//
// The engine plans one shape per value, so: If's branches must give the same
// shapes unless the condition is a plan-time constant; Loop's carried values
// keep their shape; a Loop with scan outputs needs its trip count at plan time
// (all its inputs constant, or a constant M with a condition that cannot end
// it early).
//
// Interval rules (sound first, tight second):
// - If: the chosen branch's bounds when the condition is exact, otherwise the
//   hull of both branches' bounds.
// - Loop: with an exact trip count M <= kMaxUnrolled the body's rule is
//   iterated M times; a carried value's bound is the hull over every point
//   where the loop may stop (each iteration whose condition is not exactly
//   true, and M), so an early exit is covered. Otherwise a fixpoint: H0 =
//   the initial bounds, H(k+1) = H(k) hull body(H(k)) until it stops growing
//   (then H bounds the state after any number of iterations, by induction:
//   the body's rule is sound for every state inside H); no fixpoint within
//   kMaxUnrolled rounds: unbounded.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/limits.hpp"
#include "ops/control_flow_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

constexpr int64_t kMaxUnrolled = 256;
constexpr int64_t kMaxIterations = 1'000'000;

// ---- If ----

std::vector<TensorInfo> if_branch_infer(const InferContext& ctx, const Subgraph& sg) {
  std::vector<TensorInfo> infos;
  std::vector<const Tensor*> consts;
  add_captures(ctx, sg, infos, consts);
  SubgraphInfo r = infer_subgraph(sg, ctx.node, infos, consts);
  SAVE_NODE_CHECK(r.outputs.size() == ctx.node.outputs.size(), ctx.node,
                  "a branch gives {} outputs; the node has {}", r.outputs.size(),
                  ctx.node.outputs.size());
  return r.outputs;
}

void infer_if(InferContext& ctx) {
  const Subgraph& then_g = graph_attr(ctx.node, "then_branch");
  const Subgraph& else_g = graph_attr(ctx.node, "else_branch");
  SAVE_NODE_CHECK(ctx.input(0).shape.empty() || shape_numel(ctx.input(0).shape) == 1, ctx.node,
                  "the condition has shape {}; it must hold one element",
                  shape_str(ctx.input(0).shape));
  if (ctx.constants[0] != nullptr) {
    auto outs = if_branch_infer(ctx, truth(ctx.constants[0]->view()) ? then_g : else_g);
    for (size_t k = 0; k < outs.size(); ++k) ctx.set_output(k, outs[k].dtype, outs[k].shape);
    return;
  }
  auto a = if_branch_infer(ctx, then_g);
  auto b = if_branch_infer(ctx, else_g);
  for (size_t k = 0; k < a.size(); ++k) {
    SAVE_NODE_CHECK(a[k].dtype == b[k].dtype && a[k].shape == b[k].shape, ctx.node,
                    "output {} is {} {} in then_branch but {} {} in else_branch: the engine plans "
                    "one shape per value, so the branches must agree unless the condition is a "
                    "constant",
                    k, dtype_name(a[k].dtype), shape_str(a[k].shape), dtype_name(b[k].dtype),
                    shape_str(b[k].shape));
    ctx.set_output(k, a[k].dtype, a[k].shape);
  }
}

void reference_if(const KernelContext& ctx) {
  const Subgraph& sg = graph_attr(ctx.node, truth(ctx.inputs[0]) ? "then_branch" : "else_branch");
  std::vector<Tensor> in;
  add_captures(ctx, sg, in);
  std::vector<Tensor> outs = run_subgraph(sg, ctx.node, in);
  for (size_t k = 0; k < outs.size() && k < ctx.outputs.size(); ++k)
    store(ctx.node, k, outs[k], ctx.outputs[k]);
}

std::vector<Bounds> if_branch_bounds(const IntervalContext& ctx, const Subgraph& sg) {
  std::vector<Bounds> in;
  add_captures(ctx, sg, in);
  return interval_subgraph(sg, ctx.node, in, ctx.opts);
}

void interval_if(const IntervalContext& ctx) {
  const Subgraph& then_g = graph_attr(ctx.node, "then_branch");
  const Subgraph& else_g = graph_attr(ctx.node, "else_branch");
  std::vector<Bounds> out;
  if (ctx.exact(0)) {
    out = if_branch_bounds(ctx, truth(ctx.lo[0]) ? then_g : else_g);
  } else {
    // Either branch may run: the hull of both.
    std::vector<Bounds> a = if_branch_bounds(ctx, then_g), b = if_branch_bounds(ctx, else_g);
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) out.push_back(hull(a[k], b[k]));
  }
  for (size_t k = 0; k < ctx.out_lo.size(); ++k)
    store_bounds(ctx, k, k < out.size() ? out[k] : Bounds{});
  // The branches' own rules already widened for rounding.
  *ctx.exact_arith = true;
}

// ---- Loop ----
// Node inputs: M, cond, N carried, captures. Body inputs: iteration, cond,
// N carried, captures; outputs: cond, N carried, K scan slices.

struct LoopShape {
  size_t carried = 0, scans = 0;
};
LoopShape loop_shape(const Node& n, const Subgraph& body) {
  SAVE_NODE_CHECK(body.num_formal >= 2, n, "its body takes {} inputs; Loop's takes at least 2",
                  body.num_formal);
  LoopShape s;
  s.carried = body.num_formal - 2;
  const size_t outs = body.graph.outputs.size();
  SAVE_NODE_CHECK(outs >= 1 + s.carried, n,
                  "its body gives {} outputs; it needs a condition and {} carried values", outs,
                  s.carried);
  s.scans = outs - 1 - s.carried;
  SAVE_NODE_CHECK(n.outputs.size() == s.carried + s.scans, n,
                  "has {} outputs; its body gives {} carried values and {} scan outputs",
                  n.outputs.size(), s.carried, s.scans);
  return s;
}

// Runs the loop on concrete inputs (node input order, captures included).
std::vector<Tensor> run_loop(const Node& n, const std::vector<Tensor>& in) {
  const Subgraph& body = graph_attr(n, "body");
  const LoopShape s = loop_shape(n, body);
  const int64_t max_trips =
      in[0].defined() ? int_value(in[0].view()) : std::numeric_limits<int64_t>::max();
  bool cond = in[1].defined() ? truth(in[1].view()) : true;
  std::vector<Tensor> carried(in.begin() + 2, in.begin() + 2 + static_cast<ptrdiff_t>(s.carried));
  std::vector<std::vector<Tensor>> scans(s.scans);
  int64_t i = 0;
  uint64_t scan_bytes = 0;
  for (; i < max_trips && cond; ++i) {
    // A model that loops without end (no M, a condition that stays true)
    // gets an error, not a hang: no inference model runs this long.
    SAVE_NODE_CHECK(i < kMaxIterations, n,
                    "ran {} iterations without its condition ending it: more than the engine "
                    "runs",
                    kMaxIterations);
    std::vector<Tensor> bin{Tensor::scalar<int64_t>(i), Tensor::scalar<bool>(cond)};
    for (const Tensor& t : carried) bin.push_back(t);
    for (size_t slot : body.capture_slots) bin.push_back(in[slot]);
    std::vector<Tensor> outs = run_subgraph(body, n, bin);
    cond = truth(outs[0].view());
    for (size_t c = 0; c < s.carried; ++c) {
      SAVE_NODE_CHECK(outs[1 + c].shape() == carried[c].shape(), n,
                      "carried value {} changes shape from {} to {}: the engine plans fixed "
                      "shapes",
                      c, shape_str(carried[c].shape()), shape_str(outs[1 + c].shape()));
      carried[c] = outs[1 + c];
    }
    for (size_t k = 0; k < s.scans; ++k) {
      scan_bytes += outs[1 + s.carried + k].nbytes();
      check_memory(scan_bytes, fmt::format("{}: its scan outputs", node_label(n)));
      scans[k].push_back(outs[1 + s.carried + k]);
    }
  }
  std::vector<Tensor> result = carried;
  for (size_t k = 0; k < s.scans; ++k) {
    if (scans[k].empty()) {
      result.emplace_back();  // shape from the body's rule (the caller's)
      continue;
    }
    Shape shape = scans[k][0].shape();
    shape.insert(shape.begin(), i);
    Tensor t(scans[k][0].dtype(), shape);
    for (int64_t j = 0; j < i; ++j) {
      SAVE_NODE_CHECK(scans[k][static_cast<size_t>(j)].shape() == scans[k][0].shape(), n,
                      "scan output {} changes shape across iterations", k);
      place_axis(t.view(), 0, j, scans[k][static_cast<size_t>(j)].view());
    }
    result.push_back(std::move(t));
  }
  return result;
}

// Whether the body's condition output is its condition input, passed
// through (directly or by Identity): the loop then runs exactly M times when
// it starts.
bool cond_passes_through(const Subgraph& body) {
  const Graph& g = body.graph;
  ValueId out = g.outputs[0], in = g.inputs[1];
  if (out == in) return true;
  const Value& v = g.values[out];
  return v.producer != kNoId && g.nodes[v.producer].op == "Identity" &&
         g.nodes[v.producer].inputs.size() == 1 && g.nodes[v.producer].inputs[0] == in;
}

void infer_loop(InferContext& ctx) {
  const Node& n = ctx.node;
  const Subgraph& body = graph_attr(n, "body");
  const LoopShape s = loop_shape(n, body);
  for (size_t c = 0; c < s.carried; ++c)
    SAVE_NODE_CHECK(ctx.has_input(2 + c), n, "carried input {} is missing", c);
  std::vector<TensorInfo> infos{{DType::kI64, {}}, {DType::kBool, {}}};
  std::vector<const Tensor*> consts{nullptr, nullptr};
  for (size_t c = 0; c < s.carried; ++c) {
    infos.push_back(*ctx.inputs[2 + c]);
    consts.push_back(nullptr);  // changes each iteration
  }
  add_captures(ctx, body, infos, consts);
  // Shapes for any iteration number; where a shape rule needs its value (a
  // Slice at the iteration number), the shapes at iteration 0. Runs check
  // that shapes never change across iterations (run_loop), so the plan
  // cannot hold a wrong shape either way.
  SubgraphInfo r;
  bool symbolic = true;
  try {
    r = infer_subgraph(body, n, infos, consts);
  } catch (const Error&) {
    symbolic = false;
    const Tensor zero = Tensor::scalar<int64_t>(0);
    consts[0] = &zero;
    r = infer_subgraph(body, n, infos, consts);
    consts[0] = nullptr;
  }
  for (size_t c = 0; c < s.carried; ++c) {
    const TensorInfo& a = *ctx.inputs[2 + c];
    const TensorInfo& b = r.outputs[1 + c];
    SAVE_NODE_CHECK(a.dtype == b.dtype && a.shape == b.shape, n,
                    "carried value {} enters as {} {} and leaves the body as {} {}: the engine "
                    "plans fixed shapes",
                    c, dtype_name(a.dtype), shape_str(a.shape), dtype_name(b.dtype),
                    shape_str(b.shape));
    ctx.set_output(c, a.dtype, a.shape);
  }
  if (s.scans == 0) return;
  int64_t trips = -1;
  bool all_const = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    all_const = all_const && (!ctx.has_input(i) || ctx.constants[i] != nullptr);
  if (all_const) {
    // Everything known: run it (the planner then folds it) for the exact count.
    std::vector<Tensor> in;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      in.push_back(ctx.has_input(i) ? *ctx.constants[i] : Tensor{});
    std::vector<Tensor> outs = run_loop(n, in);
    trips = outs[s.carried].defined() ? outs[s.carried].shape()[0] : 0;
  } else {
    SAVE_NODE_CHECK(ctx.has_input(0) && ctx.constants[0] != nullptr, n,
                    "has scan outputs but no constant trip count M: the engine plans fixed "
                    "shapes");
    trips = std::max<int64_t>(0, int_value(ctx.constants[0]->view()));
    if (ctx.has_input(1)) {
      SAVE_NODE_CHECK(ctx.constants[1] != nullptr, n,
                      "has scan outputs and a condition known only at run time: the engine "
                      "plans fixed shapes");
      if (!truth(ctx.constants[1]->view())) trips = 0;
    }
    const auto& c_out = r.constants[0];
    SAVE_NODE_CHECK((symbolic && c_out && truth(c_out->view())) || cond_passes_through(body), n,
                    "has scan outputs and a body whose condition may end the loop early: the "
                    "engine plans fixed shapes");
  }
  for (size_t k = 0; k < s.scans; ++k) {
    const TensorInfo& slice = r.outputs[1 + s.carried + k];
    Shape shape = slice.shape;
    shape.insert(shape.begin(), trips);
    ctx.set_output(s.carried + k, slice.dtype, shape);
  }
}

void reference_loop(const KernelContext& ctx) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    in.push_back(ctx.has_input(i) ? copy_of(ctx.inputs[i]) : Tensor{});
  std::vector<Tensor> outs = run_loop(ctx.node, in);
  for (size_t k = 0; k < outs.size() && k < ctx.outputs.size(); ++k) {
    const TensorView& o = ctx.outputs[k];
    if (!outs[k].defined()) {
      // No iteration ran: an empty scan output.
      SAVE_NODE_CHECK(o.data == nullptr || o.numel() == 0, ctx.node,
                      "ran 0 iterations; the plan expected scan output {} of shape {}", k,
                      shape_str(o.shape));
      continue;
    }
    store(ctx.node, k, outs[k], o);
  }
}

void interval_loop(const IntervalContext& ctx) {
  const Node& n = ctx.node;
  const Subgraph& body = graph_attr(n, "body");
  const LoopShape s = loop_shape(n, body);
  std::vector<Bounds> state;
  for (size_t c = 0; c < s.carried; ++c) state.push_back(bounds_of(ctx, 2 + c));
  std::vector<Bounds> caps;
  add_captures(ctx, body, caps);
  auto run_body = [&](const Bounds& iter, const std::vector<Bounds>& st) {
    std::vector<Bounds> in{iter, Bounds::point(Tensor::scalar<bool>(true))};
    in.insert(in.end(), st.begin(), st.end());
    in.insert(in.end(), caps.begin(), caps.end());
    return interval_subgraph(body, n, in, ctx.opts);
  };
  const bool m_exact = ctx.has_input(0) && ctx.exact(0);
  const int64_t m = m_exact ? int_value(ctx.lo[0]) : -1;
  // The condition before the first iteration: 1 true, 0 false, -1 unknown.
  int cond = !ctx.has_input(1) ? 1 : ctx.exact(1) ? (truth(ctx.lo[1]) ? 1 : 0) : -1;
  if (m_exact && m <= kMaxUnrolled) {
    std::vector<Bounds> stop;  // hull of the states where the loop may stop
    std::vector<std::vector<Bounds>> scan_slots(s.scans);
    auto may_stop = [&](const std::vector<Bounds>& st) {
      if (stop.empty()) {
        stop = st;
        return;
      }
      for (size_t c = 0; c < st.size(); ++c) stop[c] = hull(stop[c], st[c]);
    };
    int64_t i = 0;
    for (; i < m; ++i) {
      if (cond != 1) may_stop(state);
      if (cond == 0) break;
      std::vector<Bounds> outs = run_body(Bounds::point(Tensor::scalar<int64_t>(i)), state);
      cond = outs[0].exact() ? (truth(outs[0].lo.view()) ? 1 : 0) : -1;
      state.assign(outs.begin() + 1, outs.begin() + 1 + static_cast<ptrdiff_t>(s.carried));
      for (size_t k = 0; k < s.scans; ++k) scan_slots[k].push_back(outs[1 + s.carried + k]);
    }
    if (i == m) may_stop(state);
    for (size_t c = 0; c < s.carried; ++c) store_bounds(ctx, c, stop[c]);
    for (size_t k = 0; k < s.scans; ++k) {
      const size_t o = s.carried + k;
      const TensorView& lo = ctx.out_lo[o];
      if (lo.data == nullptr) continue;
      // The plan fixed the count; a run with another count is an error.
      bool ok = lo.rank() > 0 && lo.dim(0) == static_cast<int64_t>(scan_slots[k].size());
      for (const Bounds& b : scan_slots[k]) ok = ok && b.known;
      if (!ok) {
        ctx.out_known[o] = 0;
        continue;
      }
      for (size_t t = 0; t < scan_slots[k].size(); ++t) {
        place_axis(lo, 0, static_cast<int64_t>(t), scan_slots[k][t].lo.view());
        place_axis(ctx.out_hi[o], 0, static_cast<int64_t>(t), scan_slots[k][t].hi.view());
      }
    }
  } else {
    // Fixpoint of H -> H hull body(H), any iteration number.
    Bounds any_iter = Bounds::unbounded({DType::kI64, {}});
    std::vector<Bounds> outs;
    bool fixed = false;
    for (int64_t round = 0; round < kMaxUnrolled && !fixed; ++round) {
      outs = run_body(any_iter, state);
      fixed = true;
      for (size_t c = 0; c < s.carried; ++c) {
        Bounds h = hull(state[c], outs[1 + c]);
        fixed = fixed && same_bounds(h, state[c]);
        state[c] = std::move(h);
      }
    }
    if (!fixed) return ctx.decline();
    for (size_t c = 0; c < s.carried; ++c) store_bounds(ctx, c, state[c]);
    // Every iteration's state lies in H, so body(H) bounds every slice.
    for (size_t k = 0; k < s.scans; ++k) {
      const size_t o = s.carried + k;
      const Bounds& b = outs[1 + s.carried + k];
      const TensorView& lo = ctx.out_lo[o];
      if (lo.data == nullptr) continue;
      if (!b.known) {
        ctx.out_known[o] = 0;
        continue;
      }
      for (int64_t t = 0; t < lo.dim(0); ++t) {
        place_axis(lo, 0, t, b.lo.view());
        place_axis(ctx.out_hi[o], 0, t, b.hi.view());
      }
    }
  }
  *ctx.exact_arith = true;
}

const OpDef kIf{"If", &infer_if, &reference_if, nullptr, false, &interval_if};
const OpDef kLoop{"Loop", &infer_loop, &reference_loop, nullptr, false, &interval_loop};

}  // namespace

void register_control_flow_ops(OpRegistry& r) {
  r.add(kIf);
  r.add(kLoop);
}

}  // namespace save
