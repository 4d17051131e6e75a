// The baseline protection modes SAVE is compared with (docs/BASELINES.md):
// dmr, tmr, ecc, ranger, drdna, abft (rednet is a retrained model run with
// `none`). Each lives in its own file in this folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/protection.hpp"

namespace save::baselines {

// The baseline named `mode`, or null when `mode` is not a baseline.
std::unique_ptr<eval::Protection> make_baseline(const std::string& mode, Session& session,
                                                const eval::ProtectionOptions& opts);

// Names make_baseline knows, in report order.
std::vector<std::string> baseline_names();

}  // namespace save::baselines
