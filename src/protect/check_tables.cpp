#include "protect/check_tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace save::protect {

namespace {

// The margin the runtime adds to the analysed bounds. The analysis already
// widens each op's bounds for rounding in any summation order (gamma_n,
// ops/interval.hpp); this extra relative margin is a second line of
// defence. A flip that moves a value by less than it is tiny next to the
// value's range, i.e. close to robust anyway.
constexpr double kRelMargin = 1e-4;
// Per-channel bounds up to this many channels; beyond, one range for the
// tensor (thousands of feature bounds would not fit the reliable budget).
constexpr size_t kMaxChannelBounds = 256;

float widen_lo(float lo, float span) {
  return std::isfinite(lo) ? lo - static_cast<float>(kRelMargin) * span - 1e-6f : lo;
}
float widen_hi(float hi, float span) {
  return std::isfinite(hi) ? hi + static_cast<float>(kRelMargin) * span + 1e-6f : hi;
}

// The check of one activation from its plan entry, or kind kNone.
ValueCheck activation_check(const PlannedValue& pv, const ActivationPlan& a, bool range_only) {
  ValueCheck c;
  c.kind = a.has_vulnerable() && !range_only ? CheckKind::kSum : CheckKind::kRangeRead;
  c.mask = a.nonrobust_mask;
  const auto& shape = pv.info.shape;
  const int64_t numel = shape_numel(shape);
  // Per-channel bounds where the channel axis is real and short; one range
  // for the tensor where axis 1 holds the batch, or thousands of features.
  if (a.lo.size() > 1 && a.lo.size() <= kMaxChannelBounds && shape.size() >= 2 &&
      shape[1] == static_cast<int64_t>(a.lo.size())) {
    c.layout.channels = shape[1];
    c.layout.inner = 1;
    for (size_t d = 2; d < shape.size(); ++d) c.layout.inner *= shape[d];
    c.layout.outer = numel / std::max<int64_t>(1, c.layout.channels * c.layout.inner);
    c.lo = a.lo;
    c.hi = a.hi;
  } else {
    c.layout.outer = numel;
    c.lo = {*std::min_element(a.lo.begin(), a.lo.end())};
    c.hi = {*std::max_element(a.hi.begin(), a.hi.end())};
  }
  for (size_t k = 0; k < c.lo.size(); ++k) {
    float span =
        std::isfinite(c.hi[k] - c.lo[k]) ? std::max(std::abs(c.lo[k]), std::abs(c.hi[k])) : 0.0f;
    c.lo[k] = widen_lo(c.lo[k], span);
    c.hi[k] = widen_hi(c.hi[k], span);
  }
  return c;
}

}  // namespace

size_t CheckTables::weight_count() const {
  std::set<ValueId> w;
  for (const auto& ws : weights)
    for (const WeightCheck& c : ws) w.insert(c.value);
  return w.size();
}

CheckTables build_check_tables(const Plan& plan, const ProtectionPlan& pp, const Budget& budget,
                               const CheckSettings& settings) {
  const Graph& g = plan.graph();
  const auto& vals = plan.values();
  const size_t nsteps = plan.steps().size();
  CheckTables t;
  t.checks.assign(vals.size(), {});
  t.write_checks.assign(nsteps, {});
  t.read_checks.assign(nsteps + 1, {});
  t.weights.assign(nsteps, {});
  std::vector<ValueId> checked;
  int64_t metadata = 0;
  for (ValueId v = 0; v < vals.size(); ++v) {
    const PlannedValue& pv = vals[v];
    if (pv.storage != Storage::kArena || pv.info.dtype != DType::kF32) continue;
    auto it = pp.activations.find(g.values[v].name);
    if (it == pp.activations.end() || it->second.nonrobust_mask == 0) continue;  // all robust
    ValueCheck& c = t.checks[v];
    c = activation_check(pv, it->second, settings.range_only);
    for (size_t i = 0; i < g.inputs.size(); ++i)
      if (g.inputs[i] == v) c.input = true, c.input_index = i;
    metadata += static_cast<int64_t>(
        c.lo.size() * 2 * sizeof(float) +
        (c.kind == CheckKind::kSum ? fingerprint_blocks(pv.nbytes / 4) * sizeof(uint32_t) : 0) +
        sizeof(uint32_t));
    checked.push_back(v);
  }
  // Weights: verified after every step that reads them.
  std::set<ValueId> weight_set;
  for (size_t s = 0; s < nsteps; ++s)
    for (ValueId v : plan.steps()[s].inputs) {
      if (v == kNoId || vals[v].storage != Storage::kConstant) continue;
      if (vals[v].region != Region::kDevice || vals[v].constant.nbytes() == 0) continue;
      WeightCheck w{v, {}, settings.weight_sums && vals[v].constant.nbytes() % 4 == 0};
      if (w.by_sum)
        w.golden_sum = masked_crc(vals[v].golden.data(), vals[v].golden.nbytes() / 4, ~0u);
      t.weights[s].push_back(w);
      if (w.by_sum && weight_set.insert(v).second)
        metadata += static_cast<int64_t>(w.golden_sum.crc.size() * sizeof(uint32_t));
    }

  t.alloc = choose_allocation(plan, pp, checked, metadata, budget);
  for (ValueId v : t.alloc.placed) t.checks[v].kind = CheckKind::kNone;  // reliable: no check
  for (ValueId v : checked) {
    const ValueCheck& c = t.checks[v];
    if (c.kind == CheckKind::kNone) continue;
    ++t.checked;
    t.range_only += c.kind == CheckKind::kRangeRead;
    if (c.kind == CheckKind::kSum && vals[v].first_step >= 0)
      t.write_checks[static_cast<size_t>(vals[v].first_step)].push_back(v);
    for (size_t r : plan.readers(v)) t.read_checks[r].push_back(v);
    if (vals[v].last_step == static_cast<int64_t>(nsteps)) t.read_checks[nsteps].push_back(v);
  }
  return t;
}

std::string describe_check_tables(const Plan& plan, const CheckTables& t, const Budget& budget,
                                  const CheckSettings& settings) {
  const Allocation& a = t.alloc;
  std::string s = fmt::format(
      "save: batch {}: {} activations checked ({} by range only, {} by range + checksum), {} "
      "weights verified against the {}; reliable memory {} of {} budget ({} of {} inference "
      "bytes): metadata {} B, {} activations placed ({} B)",
      plan.input_infos().empty() || plan.input_infos()[0].shape.empty()
          ? 0
          : plan.input_infos()[0].shape[0],
      t.checked, t.range_only, t.checked - t.range_only, t.weight_count(),
      settings.weight_sums ? "golden checksums" : "host copy", a.used_bytes(), a.budget_bytes,
      budget.str(), a.inference_bytes, a.metadata_bytes, a.placed.size(), a.placed_bytes);
  if (!a.left_in_device.empty())
    s += fmt::format("; {} checked activations left in device memory (over budget)",
                     a.left_in_device.size());
  return s;
}

}  // namespace save::protect
