// A mode's counts and run report as JSON: the one spelling of their field
// names, for `save run --json` and Python's ProtectedModel.report (which
// had each copied them field by field).
#pragma once

#include <nlohmann/json.hpp>

#include "protect/mode.hpp"

namespace save::protect {

// detections, false_alarms, recoveries, uncorrectable, restarts,
// reexecuted_steps, corrections, check_ms, check_split_ms {write, read,
// weights, recovery}, reliable_bytes, detections_by_site.
nlohmann::json to_json(const ProtectionCounts& c);
// The counts, plus uncorrectable_sites [{node, value, check}],
// inputs_outside_constraint, checked_values, range_only_values,
// placed_values.
nlohmann::json to_json(const RunReport& r);

}  // namespace save::protect
