#include "analysis/attribution.hpp"

#include <bit>
#include <chrono>
#include <cmath>

#include "analysis/bit_classes.hpp"
#include "analysis/robust_masks.hpp"

namespace save {

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
    const auto tv = std::chrono::steady_clock::now();
    ValueBits vb;
    vb.value = v;
    int64_t n = shape_numel(pv.info.shape);
    const RobustMasks masks = robust_mask_detail(ra, v, tol);
    if (pv.storage == Storage::kConstant) {
      vb.weight = true;
      const float* w = pv.golden.ptr<float>();
      for (int64_t e = 0; e < n; ++e) {
        // An exact interval [w, w]: every flip leaves it, so each bit that is
        // not robust is ranging (a check against the host copy catches it).
        if (!std::isfinite(w[e])) {
          vb.vulnerable += 32;
          ++vb.vulnerable_elements;
          continue;
        }
        const auto r = static_cast<uint64_t>(std::popcount(masks.numeric[static_cast<size_t>(e)]));
        vb.robust += r;
        vb.ranging += 32 - r;
      }
    } else {
      const ValueSummary& s = ra.summary[v];
      const auto per = static_cast<uint64_t>(masks.elements_per_mask);
      for (size_t c = 0; c < masks.numeric.size(); ++c) {
        const float lo = s.channel_lo.empty() ? static_cast<float>(s.min_lo) : s.channel_lo[c];
        const float hi = s.channel_hi.empty() ? static_cast<float>(s.max_hi) : s.channel_hi[c];
        if (!s.bounded || !std::isfinite(lo) || !std::isfinite(hi)) {
          vb.vulnerable += 32 * per;  // unbounded, or beyond float range
          vb.vulnerable_elements += per;
          continue;
        }
        // Robust bits from the mask (numerics or operator); the others keep
        // the class their interval gives them.
        // Robust at the local budget, as the masks are.
        const BitClasses cls = classify_bits(lo, hi, local_tolerance(tol));
        const uint32_t robust = masks.numeric[c] | masks.by_operator[c];
        for (int b = 0; b < 32; ++b) {
          if (robust >> b & 1u) {
            vb.robust += per;
          } else if (cls.bit[static_cast<size_t>(b)] == BitClass::kRanging) {
            vb.ranging += per;
          } else {
            vb.vulnerable += per;
          }
        }
        vb.robust_operator += per * static_cast<uint64_t>(std::popcount(masks.by_operator[c]));
        if ((~robust & cls.mask(BitClass::kVulnerable)) != 0) vb.vulnerable_elements += per;
      }
    }
    vb.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tv).count();
    out.robust += vb.robust;
    out.ranging += vb.ranging;
    out.vulnerable += vb.vulnerable;
    out.robust_operator += vb.robust_operator;
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
