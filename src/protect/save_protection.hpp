// `--protect save`: the runtime half of SAVE (stages 2-4 of
// ../shared/design/SAVE.md) as executor hooks, driven by a protection plan
// (protect/protection_plan.hpp):
//  - allocation: check metadata and the least robust activations go to the
//    reliable region (protect/allocation.hpp); placed values need no check;
//  - verification, per value as the plan says: nothing for all-robust
//    values; a range check when read for values without vulnerable bits;
//    for values with vulnerable bits a range check plus a checksum of the
//    non-robust bits when the kernel writes them (after_kernel: the data is
//    hot, no flip can have landed yet), and the checksum verified before
//    each consumer reads them. SAVE duplicates the computation of vulnerable
//    outputs; here flips land in memory, not in arithmetic, so recomputing
//    from the same (possibly flipped) inputs would only agree with itself:
//    the checksum is the duplicate of the stored value. Device weights are
//    verified after each step that read them, against the host copy or a
//    golden checksum kept in reliable memory (--weight-check);
//  - recovery: a corrupted weight is repaired from the host copy and the run
//    restarts at the step that read it; a corrupted activation restarts at
//    its producer (earlier only if the arena reused an input it needs,
//    protect/restart.hpp); outputs are released only after the last step's
//    checks pass. A fault that comes back at the same place after repair is
//    reported as uncorrectable (a stuck bit) instead of being retried.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "protect/mode.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {

// Builds the mode: loads opts.plan_path (refused if made for another model)
// or runs the analysis on the fly.
std::unique_ptr<Protection> make_save_protection(Session& session, const ProtectionOptions& opts);

}  // namespace save::protect
