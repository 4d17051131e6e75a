// What the hook-based baselines share: counting detections (and telling
// false alarms from real ones by whether the injector has flipped anything
// yet: inject/fault_status.hpp), scratch outputs for duplicate executions, timing of checks, and
// the profiling pass of ranger/drdna over training images.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/scoped_ms.hpp"
#include "exec/step_runner.hpp"
#include "protect/mode.hpp"

namespace save::baselines {

class HookBaseline : public protect::Protection, public ExecHooks {
 public:
  ExecHooks* hooks() override { return this; }
  void begin_trial(const FaultStatus* faults) override;
  protect::ProtectionCounts end_trial() override;
  // What the mode counted since the last begin_trial (outside campaigns:
  // since it was made).
  const protect::ProtectionCounts& counts() const { return counts_; }

 protected:
  // One fault found at `step` by check `check` ("vote", "checksum", ...).
  void detected(Execution& ex, size_t step, const char* check);
  // "Check, and re-run the step while it fails": counts the outcome of a
  // check of `step` and returns the step to run next (`step` itself for a
  // re-run). A pass after re-runs is a recovery; a failure after
  // `max_retries` re-runs is uncorrectable and the run goes on with what it
  // has rather than loop forever.
  size_t after_check(Execution& ex, size_t step, bool ok, const char* check, int max_retries);
  void on_run_begin(Execution& ex) override { retries_ = 0; }
  // Bytes of reliable memory the mode uses (added to every trial's counts).
  virtual int64_t reliable_bytes() const { return 0; }

  protect::ProtectionCounts counts_;
  const FaultStatus* faults_ = nullptr;
  StepScratch scratch_;

 private:
  int retries_ = 0;  // re-runs of the current step so far
};

// A baseline that profiles activations on training data once, in the first
// prepare() that finds the session's plans (ranger, drdna).
class ProfiledBaseline : public HookBaseline {
 public:
  explicit ProfiledBaseline(const protect::ProtectionOptions& opts) : opts_(opts) {}
  void prepare(Session& session) final {
    if (profiled_ || session.plans().empty()) return;
    profile(session);
    profiled_ = true;
  }

 protected:
  virtual void profile(Session& session) = 0;
  protect::ProtectionOptions opts_;

 private:
  bool profiled_ = false;
};

// Op types Ranger treats as activation functions (it bounds their outputs).
bool is_activation_op(std::string_view op);
// Values that are activation outputs in `plan`: outputs of is_activation_op
// steps, plus the output of each exported erf-GELU (x * 0.5 * (1 + erf(x /
// sqrt 2)), which ONNX spells as Div, Erf, Add, Mul, Mul), whose Erf alone
// says nothing about the range of the GELU.
std::set<ValueId> activation_values(const Plan& plan);

// Runs `opts.profile_samples` training images (opts.profile_data:
// "fashion-mnist" means its 60,000-image train split; otherwise a .npy path
// or any load_dataset spec) through `session` in batches of opts.batch
// (only full batches, so no extra plan shape is built), with `probe` as the
// only hooks. Restores the session's hooks and its device weights first.
// Returns the number of images run.
int64_t run_profile(Session& session, const protect::ProtectionOptions& opts, ExecHooks& probe);

}  // namespace save::baselines
