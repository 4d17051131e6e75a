// Which check each value gets in one session plan (one batch size): the
// check tables of `--protect save`, a pure function of (session plan,
// protection plan, reliable-memory budget, settings). The runtime hooks
// (protect/save_protection.cpp) only read them; building them is separate
// so that what is checked can be tested and reported without running.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exec/plan.hpp"
#include "protect/allocation.hpp"
#include "protect/checks.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {

enum class CheckKind : uint8_t {
  kNone,       // not checked: all bits robust, reliable region, or no plan entry
  kRangeRead,  // range check before each read (no vulnerable bit)
  kSum,        // range check + fingerprint in one pass when written, fingerprint before each read
};

// How one activation is checked.
struct ValueCheck {
  CheckKind kind = CheckKind::kNone;
  ChannelLayout layout;
  std::vector<float> lo, hi;  // widened bounds per channel (reliable metadata)
  uint32_t mask = 0;          // non-robust bits
  bool input = false;         // a graph input (reloaded from the host copy)
  size_t input_index = 0;
};

// How a device weight is verified after each step that reads it.
struct WeightCheck {
  ValueId value = kNoId;
  Fingerprint golden_sum;  // by_sum: the fingerprint of the host copy, in reliable memory
  bool by_sum = false;     // false: compare with the host copy
};

// --weight-check's default: a golden checksum per weight (true), not the
// comparison with the host copy (false), which reads every weight twice.
inline constexpr bool kDefaultWeightSums = true;

struct CheckSettings {
  bool weight_sums = kDefaultWeightSums;  // --weight-check checksum (else host)
  bool range_only = false;                // --activation-check range
};

struct CheckTables {
  std::vector<ValueCheck> checks;                  // by ValueId
  std::vector<std::vector<ValueId>> write_checks;  // by step: outputs to check when written
  // By step: inputs to verify before it reads them; entry [steps] holds the
  // graph outputs, verified before they are released.
  std::vector<std::vector<ValueId>> read_checks;
  std::vector<std::vector<WeightCheck>> weights;  // by step: weights it read
  Allocation alloc;  // the placement chosen (apply_allocation puts it into the plan)
  int64_t checked = 0, range_only = 0;
  size_t weight_count() const;  // distinct weights verified
};

// The tables for `plan` under `pp`; the allocation is chosen, not applied.
CheckTables build_check_tables(const Plan& plan, const ProtectionPlan& pp, const Budget& budget,
                               const CheckSettings& settings);

// One line saying what the tables check and where the reliable memory goes.
std::string describe_check_tables(const Plan& plan, const CheckTables& t, const Budget& budget,
                                  const CheckSettings& settings);

}  // namespace save::protect
