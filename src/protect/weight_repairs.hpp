// The stuck-bit rule for device weights (SAVE stage 4): within one run, the
// bits each weight repair put right, so that a weight whose repaired bits are
// wrong again is reported as stuck (uncorrectable) instead of being repaired
// forever. New flips elsewhere in the same weight are not stuck.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "exec/plan.hpp"

namespace save::protect {

class WeightRepairs {
 public:
  void clear() { repaired_.clear(); }
  // Call before repairing weight `v` from its host copy: remembers which of
  // its bits differ now.
  void remember(const Plan& plan, ValueId v);
  // Whether a bit remembered for `v` differs from the host copy again.
  bool came_back(const Plan& plan, ValueId v) const;

 private:
  std::map<ValueId, std::vector<std::pair<size_t, uint8_t>>> repaired_;  // (byte, xor)
};

}  // namespace save::protect
