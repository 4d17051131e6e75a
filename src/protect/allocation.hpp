// Allocation (SAVE stage 2): which activations live in the scarce reliable
// region. The budget is given in bytes or as a share of inference memory
// (device weights + activation arena of the plan). The check metadata
// (bounds, checksums) must not flip either, so it is charged to the budget
// first; what is left goes to the values with the fewest robust bits per
// element (ties: smaller first, so more values fit). A placed value needs no
// runtime check. Weights stay in device memory, as in SAVE: they are
// verified against the host copy instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exec/plan.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {

struct Budget {
  bool percent = true;
  double value = 1.0;  // percent of inference memory, or bytes
  // "4096", "64KiB", "2MB", "1%", "0.5%"; "" = 1%. Throws Error on bad text.
  static Budget parse(const std::string& text);
  int64_t bytes_for(int64_t inference_bytes) const;
  std::string str() const;
};

// Device weights read by the plan's steps plus the arena.
int64_t inference_memory_bytes(const Plan& plan);

struct Allocation {
  int64_t budget_bytes = 0;
  int64_t inference_bytes = 0;
  int64_t metadata_bytes = 0;           // bounds and checksums
  int64_t placed_bytes = 0;             // activations moved to reliable memory
  std::vector<ValueId> placed;          // in placement order
  std::vector<ValueId> left_in_device;  // checked activations that did not fit
  int64_t used_bytes() const { return metadata_bytes + placed_bytes; }
};

// Chooses the placement for `plan` (does not change the plan). `checked`
// lists the activations that get runtime checks; `metadata_bytes` what their
// check data takes.
Allocation choose_allocation(const Plan& plan, const ProtectionPlan& pp,
                             const std::vector<ValueId>& checked, int64_t metadata_bytes,
                             const Budget& budget);

// Marks the placed values Region::kReliable in `plan`.
void apply_allocation(Plan& plan, const Allocation& a);

}  // namespace save::protect
