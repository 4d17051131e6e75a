// `--protect dmr`: dual modular redundancy in time. After each step the same
// kernel runs a second time on the same inputs into scratch buffers (same
// thread, sequentially) and the two results are compared bit for bit (the
// kernels are deterministic, so fault-free they agree exactly); on a
// mismatch the step is re-run and checked again, up to kMaxRetries times.
//
// What it can catch under this project's fault model (flips in memory, not
// in arithmetic): a flip that lands in a step's output between the kernel's
// write and the comparison. What it cannot: a flipped weight, or a flipped
// activation that a step reads, gives the same wrong result twice, so both
// copies agree; a flip in a stored activation after its producer's check is
// never looked at again. docs/BASELINES.md says so next to the numbers.
#include <algorithm>

#include "baselines/modes.hpp"

namespace save::baselines {

namespace {

class Dmr : public HookBaseline {
 public:
  static constexpr int kMaxRetries = 3;

  std::string name() const override { return "dmr"; }

  size_t after_step(Execution& ex, size_t step) override {
    Plan& plan = ex.plan();
    PlannedStep& st = plan.steps()[step];
    bool agree = true;
    {
      ScopedMs t(counts_.check_ms);
      const std::vector<TensorView>& dup = scratch_.outputs(st, 1)[0];
      run_step_into(plan, st, st.in_views, dup, ex.constants_epoch(step));
      for (size_t o = 0; o < dup.size() && agree; ++o) agree = same_bytes(dup[o], st.out_views[o]);
    }
    // A mismatch re-runs the step; copies that keep disagreeing are not a
    // transient fault, so after kMaxRetries the primary result goes on.
    return after_check(ex, step, agree, "compare", kMaxRetries);
  }
};

}  // namespace

std::unique_ptr<protect::Protection> make_dmr() {
  return std::make_unique<Dmr>();
}

}  // namespace save::baselines
