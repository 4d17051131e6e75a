// Counting sweep outcomes (inject/sweep_results.hpp).
#include "inject/sweep_results.hpp"

#include <algorithm>

namespace save {

bool truly_robust(const BitEffect& e, double tol) {
  return !e.nonfinite && e.top1_changes == 0 && e.max_abs <= tol;
}

void Confusion::add(const BitEffect& e, double tol) {
  const bool truth = truly_robust(e, tol);
  if (e.predicted_robust) {
    ++(truth ? robust_robust : false_robust);
    // "Moved" locally: beyond what the claim allows a real kernel, i.e. the
    // flip's exact effect (under the budget) plus the rounding of two
    // correct float32 evaluations (docs/ANALYSIS.md, "rounding").
    false_robust_consumer += !(e.consumer_max_abs <= e.consumer_bound);
  } else {
    ++(truth ? conservative : nonrobust_nonrobust);
  }
}

void BitPositionStats::add(const BitEffect& e) {
  ++swept;
  top1_changed += e.top1_changes > 0;
  if (e.nonfinite) {
    ++nonfinite;
    return;
  }
  sum_abs += e.max_abs;
  max_abs = std::max(max_abs, e.max_abs);
}

void SweepSummary::add(const BitEffect& e, double tol) {
  if (tol > 0) confusion.add(e, tol);
  stopped_early += e.stopped_early;
  skipped_steps += e.skipped_steps;
  by_bit[static_cast<size_t>(e.bit)].add(e);
  ++bits;
}

}  // namespace save
