// How a protection mode plugs into a run or a campaign (`save run|inject
// --protect MODE`). A mode supplies executor hooks that run after the
// injector's (so they see the flips), may place values in the reliable
// region before any flip lands, and counts what it detected and repaired.
// `none` lives here, `save` in protect/, the baselines in baselines/.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/hooks.hpp"
#include "exec/session.hpp"
#include "inject/injector.hpp"

namespace save {
struct Dataset;
}

namespace save::eval {

// What a mode may need to set itself up. Modes ignore what they do not use.
struct ProtectionOptions {
  // save: a plan written by `save analyze -o`; "": analyse on the fly.
  std::string plan_path;
  // The model's sha256: a plan made for another model is refused.
  std::string model_sha256;
  double tolerance = 1e-5;  // save: robust-bit tolerance when analysing on the fly
  // save: reliable-memory budget, "BYTES" or "PERCENT%" of inference memory
  // ("": the default, 1%).
  std::string reliable_mem;
  // save: how device weights are verified: "host" (compare with the host
  // copy) or "checksum" (a golden checksum per weight in reliable memory).
  std::string weight_check = "host";
  // save: run the checks that can wait on a second thread (the "host"
  // core) while the next step computes. Off by default: on this shared
  // 2-vCPU machine the hand-offs cost more than they hide (docs/PROTECTION.md).
  bool async_checks = false;
  // save: "full" (range checks + fingerprints of the non-robust bits) or
  // "range" (range checks only: cheaper, blind to in-range corruption).
  std::string activation_check = "full";
  // save: --input-range NAME=LO:HI (default [0, 1] for float inputs).
  std::map<std::string, std::pair<double, double>> input_ranges;
  // ranger / drdna: the data their bounds and signatures are profiled on.
  std::string profile_data = "fashion-mnist";
  // When set, profiled on these samples instead (every model input; save
  // eval on a model fed by --input, which has no training set to name).
  std::shared_ptr<const Dataset> profile_set;
  int64_t profile_samples = 10000;
  int64_t batch = 64;       // batch size the profiling runs at
  std::FILE* log = stderr;  // where a mode says what it set up (null: silent)
};

struct ProtectionCounts {
  int64_t detections = 0;     // faults reported (any step, any inference)
  int64_t false_alarms = 0;   // detections while no flip had been applied
  int64_t recoveries = 0;     // detections followed by a successful repair
  int64_t uncorrectable = 0;  // faults that came back after repair (stuck bits)
  int64_t restarts = 0;       // times execution went back to an earlier step
  int64_t reexecuted_steps = 0;
  double check_ms = 0;         // wall time spent in checks (not in repairs)
  int64_t reliable_bytes = 0;  // reliable memory the mode uses (metadata + placed values)
  // Detections by "layer/check" (node name, check kind), for reports.
  std::map<std::string, int64_t> by_site;
};

class Protection {
 public:
  virtual ~Protection() = default;
  virtual std::string name() const = 0;
  // Hooks to run during the trial's inferences, after the injector's; null
  // when the mode needs none. A mode that restarts from an earlier step
  // returns that step from after_step.
  virtual ExecHooks* hooks() { return nullptr; }
  // Called once the session's plans exist and before any flip lands: a mode
  // that uses reliable memory marks values Region::kReliable here (the
  // injector never flips those), in every plan of the session.
  virtual void prepare(Session& session) {}
  // `injector` tells which flips are in (applied()): a detection while it
  // is empty is a false alarm. Null outside campaigns (save run).
  virtual void begin_trial(const Injector* injector) {}
  virtual ProtectionCounts end_trial() { return {}; }
};

// Modes: none, save, and the baselines (baselines/registry.hpp). Throws
// Error naming the known modes for an unknown one.
// Adjusts the session options a mode needs: abft checks the outputs of the
// linear layers, which fused nodes no longer store, so its sessions run the
// passes without the fusing ones.
void adapt_session_options(const std::string& mode, SessionOptions& so);

std::unique_ptr<Protection> make_protection(const std::string& mode, Session& session,
                                            const ProtectionOptions& opts = {});

// Runs `inputs` protected by `p` outside a campaign (save run, the C++
// API): prepares `p` first when they need a plan it has not seen (a new
// batch shape; `prepared` counts the plans it has seen), runs with its
// hooks, and leaves the session without hooks.
std::vector<Tensor> run_protected(Protection& p, Session& session,
                                  const std::vector<Tensor>& inputs, size_t& prepared);

// Runs several hook sets as one: each hook point in order; after_step takes
// the earliest restart any of them asks for.
class HookChain : public ExecHooks {
 public:
  explicit HookChain(std::vector<ExecHooks*> hooks);
  void on_run_begin(Execution& ex) override;
  void before_step(Execution& ex, size_t step) override;
  void after_kernel(Execution& ex, size_t step) override;
  bool on_kernel_error(Execution& ex, size_t step, size_t& next) override;
  size_t after_step(Execution& ex, size_t step) override;
  void on_run_end(Execution& ex) override;

 private:
  std::vector<ExecHooks*> hooks_;
};

}  // namespace save::eval
