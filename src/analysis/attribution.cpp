#include "analysis/attribution.hpp"

#include <chrono>
#include <cmath>

#include "analysis/bit_classes.hpp"

namespace save {

namespace {

void add(ValueBits& vb, const BitClasses& c, uint64_t times) {
  vb.robust += times * static_cast<uint64_t>(c.count(BitClass::kRobust));
  vb.ranging += times * static_cast<uint64_t>(c.count(BitClass::kRanging));
  vb.vulnerable += times * static_cast<uint64_t>(c.count(BitClass::kVulnerable));
}

// Largest |x| over the bounds of value v, or +inf.
double max_abs(const RangeAnalysis& ra, ValueId v) {
  const ValueSummary& s = ra.summary[v];
  if (!s.bounded) return INFINITY;
  return std::max(std::abs(s.min_lo), std::abs(s.max_hi));
}

// The tolerance a weight element gets: the output change a flip may cause,
// divided back to the weight (0: no bit may be called robust).
double weight_tolerance(const RangeAnalysis& ra, ValueId w, double tol) {
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  double t = INFINITY;
  bool any = false;
  for (const PlannedStep& st : plan.steps()) {
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      if (st.inputs[i] != w) continue;
      any = true;
      const std::string& op = g.nodes[st.node].op;
      bool linear = op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
      if (linear && i == 2) {
        t = std::min(t, tol);  // bias: the output moves by the same amount
      } else if (linear && i < 2) {
        ValueId x = st.inputs[1 - i];
        double mx = max_abs(ra, x);
        bool scaled = op == "Gemm" && g.nodes[st.node].attrs.get_float("alpha", 1.0f) != 1.0f;
        t = std::min(t, (mx > 0 && std::isfinite(mx) && !scaled) ? tol / mx : 0.0);
      } else {
        t = 0;
      }
    }
  }
  return any ? t : 0;
}

}  // namespace

Attribution attribute_bits(const RangeAnalysis& ra, double tol) {
  auto t0 = std::chrono::steady_clock::now();
  Attribution out;
  const Plan& plan = *ra.plan;
  std::vector<bool> seen(plan.values().size(), false);
  auto visit = [&](ValueId v) {
    if (v == kNoId || seen[v] || !ra.summary[v].present) return;
    seen[v] = true;
    const PlannedValue& pv = plan.values()[v];
    if (pv.info.dtype != DType::kF32) return;
    ValueBits vb;
    vb.value = v;
    int64_t n = shape_numel(pv.info.shape);
    if (pv.storage == Storage::kConstant) {
      vb.weight = true;
      double wt = weight_tolerance(ra, v, tol);
      const float* w = pv.golden.ptr<float>();
      for (int64_t e = 0; e < n; ++e) {
        // An exact interval [w, w]: every flip leaves it, so each bit that is
        // not robust is ranging (a check against the host copy catches it).
        if (!std::isfinite(w[e])) {
          vb.vulnerable += 32;
          continue;
        }
        add(vb, classify_bits(w[e], w[e], wt > 0 ? wt : 1e-300), 1);
      }
    } else {
      const ValueSummary& s = ra.summary[v];
      if (!s.bounded) {
        vb.vulnerable = static_cast<uint64_t>(n) * 32;
      } else if (!std::isfinite(static_cast<float>(s.min_lo)) ||
                 !std::isfinite(static_cast<float>(s.max_hi))) {
        vb.vulnerable = static_cast<uint64_t>(n) * 32;  // beyond float range
      } else if (!s.channel_lo.empty()) {
        uint64_t per = static_cast<uint64_t>(n) / s.channel_lo.size();
        for (size_t ch = 0; ch < s.channel_lo.size(); ++ch)
          add(vb, classify_bits(s.channel_lo[ch], s.channel_hi[ch], tol), per);
      } else {
        add(vb, classify_bits(static_cast<float>(s.min_lo), static_cast<float>(s.max_hi), tol),
            static_cast<uint64_t>(n));
      }
    }
    out.robust += vb.robust;
    out.ranging += vb.ranging;
    out.vulnerable += vb.vulnerable;
    out.values.push_back(vb);
  };
  for (const PlannedStep& st : plan.steps()) {
    for (ValueId v : st.inputs) visit(v);
    for (ValueId v : st.outputs) visit(v);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace save
