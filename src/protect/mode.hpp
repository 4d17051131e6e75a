// The interface every protection mode implements (`save run|inject|eval
// --protect MODE`), owned here by the layer whose modes implement it: `save`
// in this folder, the baselines in src/baselines, `none` and the one list of
// modes in src/modes. A mode supplies executor hooks that run after the
// injector's (so they see the flips), may place values in the reliable
// region before any flip lands, and counts what it detected and repaired.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/hooks.hpp"
#include "exec/session.hpp"
#include "inject/fault_status.hpp"

namespace save {
struct Dataset;
}

namespace save::protect {

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
  // save: how device weights are verified: "checksum" (a golden checksum
  // per weight in reliable memory: the weights are read once) or "host"
  // (compared with the host copy: read twice, and the copy competes for
  // the cache; docs/PROTECTION.md).
  std::string weight_check = "checksum";
  // save: verify the weights on a second thread (the "host" core) while
  // the next steps compute. Off by default: on a shared 2-vCPU machine the
  // hand-offs cost more than they hide (docs/PROTECTION.md).
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
  // Values and weights put right without re-running anything: located bits
  // flipped back, or a weight repaired before its step read it (one recovery
  // may correct several).
  int64_t corrections = 0;
  double check_ms = 0;  // wall time spent in checks (not in repairs)
  // Where check_ms went (modes that split it; 0 otherwise): checks of fresh
  // outputs, verification of stored values before they are read, weight
  // verification on the compute thread; and the time spent repairing.
  double write_check_ms = 0, read_check_ms = 0, weight_check_ms = 0, recovery_ms = 0;
  int64_t reliable_bytes = 0;  // reliable memory the mode uses (metadata + placed values)
  // Detections by "layer/check" (node name, check kind), for reports.
  std::map<std::string, int64_t> by_site;
};

// One uncorrectable fault: where it kept coming back.
struct Uncorrectable {
  std::string node;   // the step's node
  std::string value;  // the value that failed its check
  std::string check;  // "weight", "range", "checksum"
};

// What a mode reports of a run beyond the campaign counts (`save run`,
// ProtectedModel::report, Python's m.report).
struct RunReport {
  ProtectionCounts counts;
  std::vector<Uncorrectable> uncorrectable;
  int64_t inputs_outside_constraint = 0;  // runs whose inputs left the constraint
  int64_t checked_values = 0, range_only_values = 0, placed_values = 0;
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
  // `faults` tells whether flips are in: a detection while none is applied
  // is a false alarm. Null outside campaigns (save run): every detection is.
  virtual void begin_trial(const FaultStatus* faults) {}
  virtual ProtectionCounts end_trial() { return {}; }
  // The run report of a mode that keeps one (sites of uncorrectable faults,
  // inputs outside the constraint, what is checked); null otherwise.
  virtual const RunReport* run_report() const { return nullptr; }
};

// Runs `inputs` protected by `p` outside a campaign (save run, the C++
// API): prepares `p` first when they need a plan it has not seen (a new
// batch shape; `prepared` counts the plans it has seen), runs with its
// hooks, and leaves the session without hooks.
std::vector<Tensor> run_protected(Protection& p, Session& session,
                                  const std::vector<Tensor>& inputs, size_t& prepared);

}  // namespace save::protect
