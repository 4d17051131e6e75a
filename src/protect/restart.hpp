// Recovery (SAVE stage 4, "edit"): where to restart a run so that a value
// is recomputed without starting over from the inputs.
//
// The arena reuses a dead value's bytes for values born after its last
// reader, so re-running from step r is only valid if every value that steps
// r.. read and that was produced before r still holds its bytes at the
// moment of detection: values still live then, and dead ones whose bytes no
// later value has taken yet. Any other one must be recomputed too, which
// moves r earlier (or, for a graph input, reloaded from the host copy). The
// re-run verifies every value it reads, as the first run did.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/plan.hpp"

namespace save::protect {

struct RestartPoint {
  size_t step = 0;
  std::vector<size_t> reload_inputs;  // graph input indices to copy in again
};

// Restart that recomputes step `from` (and whatever it needs), when the
// detection happened after step `now` ran.
RestartPoint restart_point(const Plan& plan, size_t from, size_t now);

// Whether step `step` alone can run again now (detection after step `now`):
// every arena value it reads still holds its bytes, and every value it
// writes still owns its bytes (rewriting them clobbers nothing). Then a value
// corrupted after it was written is repaired by re-running its producer
// only, instead of everything from the producer on.
bool can_rerun_alone(const Plan& plan, size_t step, size_t now);

}  // namespace save::protect
