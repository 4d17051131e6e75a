#include "protect/restart.hpp"

#include <algorithm>

namespace save::protect {

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
        // Produced before r and dead by now: its bytes may have been reused.
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
