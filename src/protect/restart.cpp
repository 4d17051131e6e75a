#include "protect/restart.hpp"

#include <algorithm>

namespace save::protect {

namespace {

// Whether another value written after `v` died (and by step `now`) shares
// some of its arena bytes.
bool overwritten(const Plan& plan, ValueId v, int64_t now) {
  const auto& vals = plan.values();
  const PlannedValue& pv = vals[v];
  const size_t lo = pv.offset, hi = pv.offset + pv.nbytes;
  for (ValueId w = 0; w < vals.size(); ++w) {
    const PlannedValue& pw = vals[w];
    if (w == v || pw.storage != Storage::kArena) continue;
    if (pw.first_step <= pv.last_step || pw.first_step > now) continue;
    if (pw.offset < hi && lo < pw.offset + pw.nbytes) return true;
  }
  return false;
}

}  // namespace

bool can_rerun_alone(const Plan& plan, size_t step, size_t now) {
  const PlannedStep& st = plan.steps()[step];
  const auto& vals = plan.values();
  const auto cur = static_cast<int64_t>(now);
  for (const auto* list : {&st.inputs, &st.outputs})
    for (ValueId v : *list) {
      if (v == kNoId || vals[v].storage != Storage::kArena) continue;
      if (vals[v].last_step < cur && overwritten(plan, v, cur)) return false;
    }
  return true;
}

RestartPoint restart_point(const Plan& plan, size_t from, size_t now) {
  const auto& steps = plan.steps();
  const auto& vals = plan.values();
  const Graph& g = plan.graph();
  RestartPoint rp;
  size_t r = std::min(from, now);
  const auto cur = static_cast<int64_t>(now);
  bool moved = true;
  while (moved) {
    moved = false;
    rp.reload_inputs.clear();
    for (size_t s = r; s <= now && s < steps.size() && !moved; ++s) {
      for (ValueId v : steps[s].inputs) {
        if (v == kNoId || vals[v].storage != Storage::kArena) continue;
        const PlannedValue& pv = vals[v];
        if (pv.first_step >= static_cast<int64_t>(r) || pv.last_step >= cur) continue;
        // Produced before r and dead by now: unusable if its bytes were reused.
        if (!overwritten(plan, v, cur)) continue;
        if (pv.first_step < 0) {
          for (size_t i = 0; i < g.inputs.size(); ++i)
            if (g.inputs[i] == v && std::find(rp.reload_inputs.begin(), rp.reload_inputs.end(),
                                              i) == rp.reload_inputs.end())
              rp.reload_inputs.push_back(i);
          continue;
        }
        r = static_cast<size_t>(pv.first_step);
        moved = true;
        break;
      }
    }
  }
  rp.step = r;
  return rp;
}

}  // namespace save::protect
