// When the device copies of constants last changed, so that a fast kernel
// that caches a repacked copy of its weights repacks only when one of *its*
// constants changed: a flip or a repair of one weight used to bump a single
// session-wide epoch, and every conv and matmul of the model then repacked
// on its next run (a whole cold start per flip in streaming campaigns and
// per bit in `save sweep`).
//
// One clock per session; changing value v stamps it with the next tick,
// changing "everything" (a caller that does not say what) stamps all. The
// version a step's kernel sees is the newest stamp among its constant
// inputs: it moves exactly when one of them, or everything, changed. Stamps
// are kept by graph value id, shared by the session's plans (their device
// copies of graph constants are shared; a folded constant restamped in one
// plan only makes the others repack once more, which is safe).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "exec/plan.hpp"

namespace save {

class ConstantVersions {
 public:
  void all_changed() { all_ = ++clock_; }
  void changed(ValueId v) {
    if (v >= stamp_.size()) stamp_.resize(static_cast<size_t>(v) + 1, 0);
    stamp_[v] = ++clock_;
  }
  // The version step `st` of `plan` sees (KernelContext::constants_epoch).
  uint64_t for_step(const Plan& plan, const PlannedStep& st) const {
    uint64_t e = all_;
    for (ValueId v : st.inputs)
      if (v != kNoId && v < stamp_.size() && plan.values()[v].storage == Storage::kConstant)
        e = std::max(e, stamp_[v]);
    return e;
  }
  uint64_t latest() const { return clock_; }

 private:
  uint64_t clock_ = 0, all_ = 0;
  std::vector<uint64_t> stamp_;  // by ValueId; 0: never changed
};

}  // namespace save
