// `--protect ecc`: every value the run touches lives in ECC-protected
// memory, emulated by placing all of it in the reliable region (prepare()),
// so the injector lands no flip anywhere: accuracy is the fault-free one by
// construction. What it costs is stated by a cost model instead:
//  - memory: all of inference memory is reliable (reported as
//    reliable_bytes: every device constant plus the largest plan's arena);
//    SECDED (72, 64) adds 8 check bits per 64 data bits on top (12.5%);
//  - latency: inline ECC as on GDDR GPUs (NVIDIA Tesla K40: 6.25% of memory
//    carved out for check bits, read along with the data) costs that share
//    of memory bandwidth; the mode charges every step 1 / (1 - 0.0625) of
//    its measured time by spinning for the difference after it, i.e. as if
//    every step were bandwidth-bound (an upper bound; HBM2 side-band ECC as
//    on V100 costs no bandwidth, and the fault-free latency is then the
//    lower bound). docs/BASELINES.md gives the sources.
#include <algorithm>
#include <chrono>

#include "baselines/modes.hpp"

namespace save::baselines {

namespace {

using Clock = std::chrono::steady_clock;

// Share of memory bandwidth inline ECC takes (check bits read with the data).
constexpr double kInlineEccShare = 0.0625;

class Ecc : public HookBaseline {
 public:
  std::string name() const override { return "ecc"; }

  void prepare(Session& session) override {
    size_t arena = 0;
    for (Plan* plan : session.plans()) {
      for (PlannedValue& pv : plan->values())
        if (pv.region == Region::kDevice) pv.region = Region::kReliable;  // host inputs stay
      arena = std::max(arena, plan->arena_bytes());
    }
    // Graph constants have one device copy shared by all plans: count them
    // once, from the graph; plus the arena of the largest plan.
    int64_t constants = 0;
    for (const Value& v : session.graph().values)
      if (v.constant) constants += static_cast<int64_t>(v.constant->nbytes());
    bytes_ = constants + static_cast<int64_t>(arena);
  }

  void before_step(Execution& ex, size_t step) override { t0_ = Clock::now(); }

  size_t after_step(Execution& ex, size_t step) override {
    // Charge the modelled bandwidth share: spin (not sleep: sleeping has a
    // coarse granularity and yields the core) for the extra time.
    auto spent = Clock::now() - t0_;
    auto extra = std::chrono::duration_cast<Clock::duration>(
        spent * (kInlineEccShare / (1 - kInlineEccShare)));
    auto until = Clock::now() + extra;
    while (Clock::now() < until) {
    }
    return step + 1;
  }

 protected:
  int64_t reliable_bytes() const override { return bytes_; }

 private:
  int64_t bytes_ = 0;
  Clock::time_point t0_;
};

}  // namespace

std::unique_ptr<protect::Protection> make_ecc() {
  return std::make_unique<Ecc>();
}

}  // namespace save::baselines
