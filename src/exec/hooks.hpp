// The executor's hook points. A verifier or an injector implements
// ExecHooks; the executor calls it around every step. With no hooks set the
// run loop pays one well-predicted branch per step.
#pragma once

#include <cstddef>

namespace save {

class Execution;

class ExecHooks {
 public:
  virtual ~ExecHooks() = default;
  // Once per run, after the inputs are in the arena and before step 0.
  virtual void on_run_begin(Execution& ex) {}
  // Before step `step` reads its inputs.
  virtual void before_step(Execution& ex, size_t step) {}
  // Right after step `step`'s kernel wrote its outputs, before any hook's
  // after_step: the place for checks that belong to the kernel itself (SAVE
  // fuses its range check into the compute kernel), so they see the outputs
  // exactly as computed, before a flip can land on them.
  virtual void after_kernel(Execution& ex, size_t step) {}
  // After step `step` wrote its outputs. Returns the step to run next:
  // step + 1 to go on, or an earlier step to restart from there (recovery).
  virtual size_t after_step(Execution& ex, size_t step) { return step + 1; }
  // A kernel of step `step` threw save::Error (e.g. a corrupted index).
  // Return true with `next` set to go on from there (after a repair);
  // false lets the error propagate.
  virtual bool on_kernel_error(Execution& ex, size_t step, size_t& next) { return false; }
  // Once per run, after the last step and before the outputs are released.
  virtual void on_run_end(Execution& ex) {}
};

}  // namespace save
