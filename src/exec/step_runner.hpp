// Runs one planned step again, outside the executor's loop, reading and
// writing buffers the caller chooses: the duplicate executions of DMR/TMR
// and the recomputations of the baselines (src/baselines/) go through it so
// they run the very kernel the plan runs (fast where the plan has one).
#pragma once

#include <deque>
#include <map>
#include <span>
#include <vector>

#include "exec/plan.hpp"

namespace save {

// Runs `step`'s kernel on `in` into `out` (same arity as the step's views).
// `constants_epoch` is the executor's: a fast kernel that caches repacked
// weights repacks only when it changed.
void run_step_into(const Plan& plan, PlannedStep& step, std::span<const TensorView> in,
                   std::span<const TensorView> out, uint64_t constants_epoch);

// Buffers shaped like a step's outputs, allocated on first use and kept, so
// that a duplicate execution per step costs no allocation after the first
// inference. Keyed by step address: one pool serves every plan of a session.
class StepScratch {
 public:
  // `copies` sets of scratch outputs for `step` (views: omitted outputs stay
  // empty views, as in the step's own out_views).
  std::span<const std::vector<TensorView>> outputs(const PlannedStep& step, size_t copies);

 private:
  struct Entry {
    std::deque<Tensor> tensors;  // deque: views keep pointing at shapes as it grows
    std::vector<std::vector<TensorView>> views;
  };
  std::map<const PlannedStep*, Entry> entries_;
};

// True when every byte of two views of the same shape and type is equal.
bool same_bytes(const TensorView& a, const TensorView& b);

}  // namespace save
