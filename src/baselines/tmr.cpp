// `--protect tmr`: triple modular redundancy in time. After each step the
// same kernel runs twice more on the same inputs into scratch buffers, and
// every output element is decided by a bitwise majority of the three copies
// (two equal words win and are written back to the step's output). When all
// three differ (cannot happen with deterministic kernels and one flip, but
// several flips can), the median of the three floats is kept and the fault
// counts as uncorrectable.
//
// Under this project's fault model (flips in memory) TMR shares DMR's blind
// spot: all three copies read the same weights and input activations, so a
// flip there is out-voted by nothing (see dmr.cpp and docs/BASELINES.md).
#include <algorithm>
#include <cstring>

#include "baselines/modes.hpp"

namespace save::baselines {

namespace {

struct Vote {
  int64_t corrected = 0, undecided = 0;
};

// Votes element-wise over three buffers of `n` elements of `Word`, writing
// the winner into `out`. Floats with no majority take the median.
template <typename Word>
Vote vote(Word* out, const Word* b, const Word* c, int64_t n, bool is_f32) {
  Vote v;
  for (int64_t i = 0; i < n; ++i) {
    Word a = out[i];
    if ((a == b[i]) | (a == c[i])) continue;  // the stored copy has a majority
    if (b[i] == c[i]) {
      out[i] = b[i];
      ++v.corrected;
      continue;
    }
    ++v.undecided;
    if (is_f32) {
      float x, y, z;
      std::memcpy(&x, &a, 4), std::memcpy(&y, &b[i], 4), std::memcpy(&z, &c[i], 4);
      float m = std::max(std::min(x, y), std::min(std::max(x, y), z));
      std::memcpy(&out[i], &m, 4);
    }
  }
  return v;
}

class Tmr : public HookBaseline {
 public:
  std::string name() const override { return "tmr"; }

  size_t after_step(Execution& ex, size_t step) override {
    Plan& plan = ex.plan();
    PlannedStep& st = plan.steps()[step];
    int64_t corrected = 0, undecided = 0;
    {
      ScopedMs t(counts_.check_ms);
      auto copies = scratch_.outputs(st, 2);
      run_step_into(plan, st, st.in_views, copies[0], ex.constants_epoch(step));
      run_step_into(plan, st, st.in_views, copies[1], ex.constants_epoch(step));
      for (size_t o = 0; o < st.out_views.size(); ++o) {
        const TensorView& out = st.out_views[o];
        if (out.data == nullptr) continue;
        // The common case: all three copies agree (two memcmps, no vote).
        if (same_bytes(out, copies[0][o]) && same_bytes(out, copies[1][o])) continue;
        // Compare machine words of the element size; other sizes byte-wise.
        size_t es = dtype_size(out.dtype);
        auto n = static_cast<int64_t>(out.nbytes());
        auto run = [&](auto* p, const auto* b, const auto* c, int64_t count, bool f32) {
          auto v = vote(p, b, c, count, f32);
          corrected += v.corrected;
          undecided += v.undecided;
        };
        if (es == 4)
          run(out.ptr<uint32_t>(), copies[0][o].ptr<const uint32_t>(),
              copies[1][o].ptr<const uint32_t>(), n / 4, out.dtype == DType::kF32);
        else if (es == 8)
          run(out.ptr<uint64_t>(), copies[0][o].ptr<const uint64_t>(),
              copies[1][o].ptr<const uint64_t>(), n / 8, false);
        else
          run(out.ptr<uint8_t>(), copies[0][o].ptr<const uint8_t>(),
              copies[1][o].ptr<const uint8_t>(), n, false);
      }
    }
    if (corrected + undecided > 0) {
      detected(ex, step, "vote");
      if (undecided > 0)
        ++counts_.uncorrectable;
      else
        ++counts_.recoveries;
    }
    return step + 1;
  }
};

}  // namespace

std::unique_ptr<protect::Protection> make_tmr() {
  return std::make_unique<Tmr>();
}

}  // namespace save::baselines
