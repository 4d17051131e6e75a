// Range analysis: walks the batch-1 plan's steps in order, calling each op's
// interval rule (ops/interval.cpp: eval_interval) on the bounds of its inputs.
#include "analysis/range_analysis.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"
#include "ops/fused.hpp"

namespace save {

std::pair<std::string, std::pair<double, double>> parse_input_range(const std::string& text) {
  const size_t eq = text.rfind('=');
  const size_t colon = text.rfind(':');
  SAVE_CHECK(eq != std::string::npos && eq > 0 && colon != std::string::npos && colon > eq,
             "--input-range '{}': expected NAME=LO:HI", text);
  auto number = [&](const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    SAVE_CHECK(!s.empty() && end == s.c_str() + s.size() && std::isfinite(v),
               "--input-range '{}': '{}' is not a finite number", text, s);
    return v;
  };
  const double lo = number(text.substr(eq + 1, colon - eq - 1));
  const double hi = number(text.substr(colon + 1));
  SAVE_CHECK(lo <= hi, "--input-range '{}': LO must not exceed HI", text);
  return {text.substr(0, eq), {lo, hi}};
}

std::vector<Tensor> batch1_inputs(const Graph& graph) {
  std::vector<Tensor> out;
  for (ValueId id : graph.inputs) {
    const Value& v = graph.values[id];
    Shape s;
    for (const Dim& d : v.shape) s.push_back(d.known() ? d.size : 1);
    out.emplace_back(v.dtype, s);
  }
  return out;
}

std::vector<Tensor> shaped_inputs(const Graph& graph, const std::map<std::string, Shape>& shapes) {
  std::vector<Tensor> out = batch1_inputs(graph);
  for (const auto& [name, shape] : shapes) {
    size_t i = 0;
    while (i < graph.inputs.size() && graph.values[graph.inputs[i]].name != name) ++i;
    SAVE_CHECK(i < graph.inputs.size(), "--input-shape: the model has no input named '{}'", name);
    out[i] = Tensor(graph.values[graph.inputs[i]].dtype, shape);
  }
  return out;
}

std::pair<std::string, Shape> parse_input_shape(const std::string& text) {
  const size_t eq = text.rfind('=');
  SAVE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < text.size(),
             "--input-shape '{}': expected NAME=D1xD2x... (e.g. input=1x3x32x32)", text);
  Shape shape;
  size_t pos = eq + 1;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("x,", pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    char* stop = nullptr;
    const long long d = std::strtoll(part.c_str(), &stop, 10);
    SAVE_CHECK(!part.empty() && stop == part.c_str() + part.size() && d >= 0 && d <= (1LL << 31),
               "--input-shape '{}': '{}' is not a dimension (0 to 2^31)", text, part);
    shape.push_back(d);
    pos = end + 1;
  }
  return {text.substr(0, eq), shape};
}

namespace {

// Batch dim 0 set to `n` for every input that is not folded at plan time.
std::vector<Tensor> with_batch(const std::vector<Tensor>& inputs, int64_t n) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    if (t.rank() == 0 || is_plan_time_input(t)) {
      out.push_back(t);
      continue;
    }
    Shape s = t.shape();
    s[0] = n;
    out.emplace_back(t.dtype(), s);
  }
  return out;
}

// Where a value's samples lie: the one axis whose size is 3x larger in the
// batch-3 plan than in the batch-1 plan (all other dims equal); -1 for none
// (a value that does not depend on the batch), -2 when the shapes do not
// fit that pattern.
int batch_axis(const Shape& b1, const Shape& b3) {
  if (b1.size() != b3.size()) return -2;
  int axis = -1;
  for (size_t d = 0; d < b1.size(); ++d) {
    if (b1[d] == b3[d]) continue;
    if (axis != -1 || b3[d] != 3 * b1[d]) return -2;
    axis = static_cast<int>(d);
  }
  return axis;
}

int64_t norm_axis(int64_t a, size_t rank) {
  return a < 0 ? a + static_cast<int64_t>(rank) : a;
}

bool one_of(const std::string& op, std::initializer_list<const char*> ops) {
  for (const char* o : ops)
    if (op == o) return true;
  return false;
}

// Ops that compute each output element from input elements at the same
// position, or move / select elements: a sample's elements stay its own.
bool moves_or_maps(const std::string& op) {
  return one_of(op, {"Abs",         "Neg",
                     "Exp",         "Log",
                     "Sqrt",        "Erf",
                     "Sigmoid",     "Tanh",
                     "Relu",        "LeakyRelu",
                     "Elu",         "Selu",
                     "Softplus",    "Softsign",
                     "HardSigmoid", "HardSwish",
                     "Gelu",        "Celu",
                     "Clip",        "Cast",
                     "CastLike",    "Identity",
                     "Dropout",     "Add",
                     "Sub",         "Mul",
                     "Div",         "Pow",
                     "Max",         "Min",
                     "Sum",         "Mean",
                     "PRelu",       "Where",
                     "Equal",       "Less",
                     "Greater",     "Not",
                     "And",         "Or",
                     "Reciprocal",  "Floor",
                     "Ceil",        "Round",
                     "Sign",        "Sin",
                     "Cos",         "Reshape",
                     "Flatten",     "Squeeze",
                     "Unsqueeze",   "Transpose",
                     "Concat",      "Split",
                     "Slice",       "Gather",
                     "Expand",      "Tile",
                     "Pad",         "Shape",
                     "Size",        "ConstantOfShape"});
}

// Ops whose axis 0 is the batch and that combine elements along the others.
bool batch_major(const std::string& op) {
  return one_of(op, {"Conv", "ConvTranspose", "AveragePool", "MaxPool", "GlobalAveragePool",
                     "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "LRN",
                     "GroupNormalization", "DepthToSpace", "SpaceToDepth", "Resize", "Upsample"});
}

// Axes given as an attribute or a constant input (empty: none given).
std::vector<int64_t> axes_of(const Plan& plan, const PlannedStep& st, const char* attr,
                             size_t input, bool* unknown) {
  const Node& n = plan.graph().nodes[st.node];
  if (n.attrs.has(attr)) return n.attrs.get_ints(attr);
  std::vector<int64_t> out;
  if (input < st.inputs.size() && st.inputs[input] != kNoId) {
    const PlannedValue& v = plan.values()[st.inputs[input]];
    if (v.storage != Storage::kConstant) {
      *unknown = true;
      return out;
    }
    for (double d : v.constant.to_double()) out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// Whether step `st` combines elements of different samples, given each
// value's batch axis (bax; -1 none).
bool mixes_samples(const Plan& plan, const PlannedStep& st, const std::vector<int>& bax) {
  const Node& n = plan.graph().nodes[st.node];
  const auto& vals = plan.values();
  auto in_axis = [&](size_t i) {
    return i < st.inputs.size() && st.inputs[i] != kNoId ? bax[st.inputs[i]] : -1;
  };
  auto in_rank = [&](size_t i) {
    return i < st.inputs.size() && st.inputs[i] != kNoId ? vals[st.inputs[i]].info.shape.size()
                                                         : size_t{0};
  };
  bool any = false;
  for (size_t i = 0; i < st.inputs.size(); ++i) any = any || in_axis(i) >= 0;
  if (!any) return false;  // nothing batch-dependent flows in
  // A fused op (ops/fused.hpp) is its base op, then elementwise post-ops:
  // those keep samples apart when each operand has the output's batch axis
  // (or none), and the base op is judged on its own inputs.
  const bool fused = n.domain == kSaveDomain && !base_op_type(n.op).empty();
  const std::string op = fused ? base_op_type(n.op) : n.op;
  const size_t nin = fused ? std::min(base_input_count(op), st.inputs.size()) : st.inputs.size();
  if (fused) {
    const int y = st.outputs.empty() || st.outputs[0] == kNoId ? -1 : bax[st.outputs[0]];
    for (size_t i = nin; i < st.inputs.size(); ++i)
      if (in_axis(i) >= 0 && in_axis(i) != y) return true;
  }
  if (moves_or_maps(op)) return false;
  const int x = in_axis(0);
  const size_t r = in_rank(0);
  if (batch_major(op)) {
    for (size_t i = 1; i < nin; ++i)
      if (in_axis(i) >= 0) return true;  // batch-dependent weights
    return x != 0;
  }
  if (op == "RNN" || op == "GRU" || op == "LSTM") {
    // Each sample's sequence runs alone. Its batch axis: X and the initial
    // states at 1 (layout 0: [seq, batch, in], [dirs, batch, hidden]) or 0
    // (layout 1); sequence_lens at 0; the weights W, R, B, P not at all.
    const int b = n.attrs.get_int("layout", 0) == 0 ? 1 : 0;
    if (x != b) return true;
    for (size_t i : {size_t{1}, size_t{2}, size_t{3}, size_t{7}})
      if (in_axis(i) >= 0) return true;
    if (in_axis(4) >= 0 && in_axis(4) != 0) return true;
    for (size_t i : {size_t{5}, size_t{6}})
      if (in_axis(i) >= 0 && in_axis(i) != b) return true;
    return false;
  }
  const int64_t opset = plan.graph().opset;
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    const int64_t a = norm_axis(n.attrs.get_int("axis", opset >= 13 ? -1 : 1), r);
    // Before opset 13 the input is coerced to 2-D at `axis`: all axes >= it mix.
    return opset >= 13 ? x == a : x >= a;
  }
  if (op == "LayerNormalization")
    return x >= norm_axis(n.attrs.get_int("axis", -1), r) || in_axis(1) >= 0 || in_axis(2) >= 0;
  if (op == "ArgMax" || op == "ArgMin" || op == "TopK")
    return x == norm_axis(n.attrs.get_int("axis", op == "TopK" ? -1 : 0), r) || in_axis(1) >= 0;
  if (op == "CumSum") {
    bool unknown = false;
    const std::vector<int64_t> a = axes_of(plan, st, "", 1, &unknown);
    return unknown || a.empty() || norm_axis(a[0], r) == x;
  }
  if (op.rfind("Reduce", 0) == 0) {
    bool unknown = false;
    const std::vector<int64_t> axes = axes_of(plan, st, "axes", 1, &unknown);
    if (unknown) return true;
    if (axes.empty()) return n.attrs.get_int("noop_with_empty_axes", 0) == 0;  // all axes
    for (int64_t a : axes)
      if (norm_axis(a, r) == x) return true;
    return false;
  }
  if (op == "MatMul") {
    const int b = in_axis(1);
    const size_t rb = in_rank(1);
    const bool a_contracted = x >= 0 && static_cast<size_t>(x) == r - 1;
    const bool b_contracted = b >= 0 && (rb == 1 || static_cast<size_t>(b) == rb - 2);
    return a_contracted || b_contracted;
  }
  if (op == "Gemm") {
    const int ka = n.attrs.get_int("transA", 0) ? 0 : 1, kb = n.attrs.get_int("transB", 0) ? 1 : 0;
    return x == ka || in_axis(1) == kb || in_axis(2) >= 0;
  }
  return true;  // anything else: assume it mixes (conservative)
}

}  // namespace

bool per_sample_model(Session& session, const std::vector<Tensor>& batch1) {
  for (const Tensor& t : batch1)
    if (!is_plan_time_input(t) && (t.rank() == 0 || t.shape()[0] != 1)) return false;
  Plan* p1 = nullptr;
  Plan* p3 = nullptr;
  try {
    p1 = &session.plan_for(batch1);
    p3 = &session.plan_for(with_batch(batch1, 3));
  } catch (const Error&) {
    return false;  // batch fixed by the model, or a shape that needs batch 1
  }
  const auto& v1 = p1->values();
  const auto& v3 = p3->values();
  if (v1.size() != v3.size()) return false;
  std::vector<int> bax(v1.size(), -1);
  for (size_t v = 0; v < v1.size(); ++v) {
    // Inputs and computed values (constants, folded shape arithmetic
    // included, act through the values they feed).
    if (v1[v].storage != Storage::kArena || v3[v].storage != Storage::kArena) continue;
    bax[v] = batch_axis(v1[v].info.shape, v3[v].info.shape);
    if (bax[v] == -2) return false;
  }
  for (const PlannedStep& st : p1->steps())
    if (mixes_samples(*p1, st, bax)) return false;
  return true;
}

namespace {

Bounds input_bounds(const TensorInfo& info, const InputRange& r) {
  if (!r.bounded) return Bounds::unbounded(info);
  Bounds b;
  b.known = true;
  b.lo = Tensor(info.dtype, info.shape);
  b.hi = Tensor(info.dtype, info.shape);
  dispatch_dtype(info.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      std::fill_n(b.lo.ptr<T>(), b.lo.numel(), static_cast<T>(r.lo));
      std::fill_n(b.hi.ptr<T>(), b.hi.numel(), static_cast<T>(r.hi));
    }
  });
  return b;
}

ValueSummary summarize(const Bounds& b, bool constant) {
  ValueSummary s;
  s.present = true;
  s.constant = constant;
  if (!b.known || !is_float(b.lo.dtype())) {
    s.min_lo = -std::numeric_limits<double>::infinity();
    s.max_hi = std::numeric_limits<double>::infinity();
    return s;
  }
  const std::vector<double> lo = b.lo.to_double(), hi = b.hi.to_double();
  s.min_lo = std::numeric_limits<double>::infinity();
  s.max_hi = -std::numeric_limits<double>::infinity();
  for (size_t e = 0; e < lo.size(); ++e) {
    s.min_lo = std::min(s.min_lo, lo[e]);
    s.max_hi = std::max(s.max_hi, hi[e]);
  }
  s.bounded = std::isfinite(s.min_lo) && std::isfinite(s.max_hi);
  const Shape& sh = b.lo.shape();
  if (sh.size() >= 2 && sh[1] > 0 && !constant) {
    const int64_t c = sh[1];
    int64_t inner = 1;
    for (size_t i = 2; i < sh.size(); ++i) inner *= sh[i];
    s.channel_lo.assign(static_cast<size_t>(c), std::numeric_limits<float>::infinity());
    s.channel_hi.assign(static_cast<size_t>(c), -std::numeric_limits<float>::infinity());
    for (size_t e = 0; e < lo.size(); ++e) {
      const auto ch = static_cast<size_t>((static_cast<int64_t>(e) / inner) % c);
      s.channel_lo[ch] = std::min(s.channel_lo[ch], static_cast<float>(lo[e]));
      s.channel_hi[ch] = std::max(s.channel_hi[ch], static_cast<float>(hi[e]));
    }
  }
  return s;
}

}  // namespace

RangeAnalysis analyze_ranges(Session& session, const RangeOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  const Graph& g = session.graph();
  RangeAnalysis ra;
  for (const auto& [name, range] : opts.input_ranges) {
    const ValueId id = g.find_value(name);
    SAVE_CHECK(id != kNoId && g.values[id].is_graph_input,
               "--input-range: the model has no input named '{}'", name);
  }
  // At the shapes that will run; at batch 1 (bounds per sample, for any
  // batch) when the model treats samples separately.
  const std::vector<Tensor> want = shaped_inputs(g, opts.input_shapes);
  const std::vector<Tensor> b1 = with_batch(want, 1);
  ra.any_batch = per_sample_model(session, b1);
  const std::vector<Tensor>& at = ra.any_batch ? b1 : want;
  for (const Tensor& t : at) ra.input_shapes.push_back(t.shape());
  Plan& plan = session.plan_for(at);
  ra.plan = &plan;
  const auto& values = plan.values();
  ra.bounds.resize(values.size());
  ra.summary.resize(values.size());
  for (size_t v = 0; v < values.size(); ++v) {
    const PlannedValue& pv = values[v];
    if (pv.storage != Storage::kConstant) continue;
    ra.bounds[v] = Bounds::point(pv.golden.defined() ? pv.golden : pv.constant);
  }
  for (ValueId id : g.inputs) {
    const Value& val = g.values[id];
    InputRange r{val.name, opts.default_lo, opts.default_hi, true, is_float(val.dtype)};
    if (auto it = opts.input_ranges.find(val.name); it != opts.input_ranges.end()) {
      r.lo = it->second.first;
      r.hi = it->second.second;
      r.defaulted = false;
    }
    ra.inputs.push_back(r);
    if (values[id].storage == Storage::kConstant) continue;  // folded plan-time input
    ra.bounds[id] = input_bounds(values[id].info, r);
  }
  SymbolicBounds symbolic(plan, ra.bounds, opts.symbolic, opts.interval);
  ra.has_rule.assign(plan.steps().size(), 0);
  ra.step_seconds.assign(plan.steps().size(), 0);
  for (size_t s = 0; s < plan.steps().size(); ++s) {
    const auto ts = std::chrono::steady_clock::now();
    const PlannedStep& step = plan.steps()[s];
    std::vector<Bounds> in;
    bool all_exact = true;
    for (ValueId v : step.inputs) {
      in.push_back(v == kNoId ? Bounds{} : ra.bounds[v]);
      if (v != kNoId) all_exact &= in.back().exact();
    }
    std::vector<TensorInfo> out_info;
    for (ValueId v : step.outputs) out_info.push_back(v == kNoId ? TensorInfo{} : values[v].info);
    ra.has_rule[s] = all_exact || step.def->interval != nullptr;
    std::vector<Bounds> out =
        eval_interval(*step.def, g.nodes[step.node], g.opset, in, out_info, opts.interval);
    for (size_t o = 0; o < step.outputs.size(); ++o)
      if (step.outputs[o] != kNoId) ra.bounds[step.outputs[o]] = std::move(out[o]);
    symbolic.after_step(s, ra.bounds);
    ra.step_seconds[s] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
  }
  ra.symbolic = symbolic.stats();
  for (size_t v = 0; v < values.size(); ++v)
    if (ra.bounds[v].lo.defined())
      ra.summary[v] = summarize(ra.bounds[v], values[v].storage == Storage::kConstant);
  ra.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ra;
}

}  // namespace save
