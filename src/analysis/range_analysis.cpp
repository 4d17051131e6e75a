// Range analysis: walks the batch-1 plan's steps in order, calling each op's
// interval rule (ops/interval.cpp: eval_interval) on the bounds of its inputs.
#include "analysis/range_analysis.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"

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
  Plan& plan = session.plan_for(batch1_inputs(g));
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
    ra.step_seconds[s] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
  }
  for (size_t v = 0; v < values.size(); ++v)
    if (ra.bounds[v].lo.defined())
      ra.summary[v] = summarize(ra.bounds[v], values[v].storage == Storage::kConstant);
  ra.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ra;
}

}  // namespace save
