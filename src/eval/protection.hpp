// How a protection mode plugs into a campaign (`save inject --protect MODE`).
// A mode supplies executor hooks that run after the injector's (so they see
// the flips), and counts what it detected and repaired. Only `none` exists
// today; the protection issue adds `save`, `dmr`, `ranger`... by returning
// them from make_protection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exec/hooks.hpp"
#include "exec/session.hpp"
#include "inject/injector.hpp"

namespace save::eval {

struct ProtectionCounts {
  int64_t detections = 0;    // faults reported (any step, any inference)
  int64_t false_alarms = 0;  // detections while no flip had been applied
  int64_t recoveries = 0;    // detections followed by a successful repair
};

class Protection {
 public:
  virtual ~Protection() = default;
  virtual std::string name() const = 0;
  // Hooks to run during the trial's inferences, after the injector's; null
  // when the mode needs none. A mode that restarts from an earlier step
  // returns that step from after_step.
  virtual ExecHooks* hooks() { return nullptr; }
  // `injector` tells which flips are in (applied()): a detection while it
  // is empty is a false alarm.
  virtual void begin_trial(const Injector& injector) {}
  virtual ProtectionCounts end_trial() { return {}; }
};

// "none" today; throws Error for a known mode that is not implemented yet
// and for an unknown one.
std::unique_ptr<Protection> make_protection(const std::string& mode, Session& session);

// Runs several hook sets as one: each hook point in order; after_step takes
// the earliest restart any of them asks for.
class HookChain : public ExecHooks {
 public:
  explicit HookChain(std::vector<ExecHooks*> hooks);
  void on_run_begin(Execution& ex) override;
  void before_step(Execution& ex, size_t step) override;
  size_t after_step(Execution& ex, size_t step) override;
  void on_run_end(Execution& ex) override;

 private:
  std::vector<ExecHooks*> hooks_;
};

}  // namespace save::eval
