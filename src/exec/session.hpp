// Session: a loaded model ready to run. Holds the host (golden) graph and one
// plan per distinct set of input shapes (dynamic batch), and runs a plan's
// steps in order with the hooks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/constant_versions.hpp"
#include "exec/hooks.hpp"
#include "exec/plan.hpp"
#include "ir/graph.hpp"
#include "passes/pipeline.hpp"

namespace save {

struct SessionOptions {
  PlanOptions plan;
  int threads = 0;                      // 0: leave OpenMP's default
  bool reject_nonfinite_inputs = true;  // NaN/Inf in a float input is an Error
  // The graph passes (passes/pipeline.hpp: BatchNorm folding, fusion),
  // applied when fast kernels are used; passes.enabled = false runs the
  // graph as written (`--no-fuse`).
  PassOptions passes;
};

// The state of one run, handed to hooks.
class Execution {
 public:
  Execution(Plan& plan, ConstantVersions& versions,
            const std::vector<Tensor>* host_inputs = nullptr)
      : plan_(plan), versions_(versions), host_inputs_(host_inputs) {}
  Plan& plan() { return plan_; }
  // The inputs as handed in (host memory, never flipped), in graph.inputs
  // order; null when the run did not go through Session::load_inputs.
  const std::vector<Tensor>* host_inputs() const { return host_inputs_; }
  // Copies host input `i` into its arena slot again (recovery of an input
  // whose device copy was corrupted or reused). False without host inputs.
  bool reload_input(size_t i);
  TensorView value(ValueId v) const { return plan_.view(v); }
  // A hook that rewrites a constant's device copy must say so, so that the
  // fast kernels reading it drop their repacked copies: constant_changed(v)
  // for one value, constants_changed() when it cannot say which.
  void constant_changed(ValueId v) { versions_.changed(v); }
  void constants_changed() { versions_.all_changed(); }
  // Runs step `step`'s kernel (fast where the plan has one) on its own
  // buffers: the one kernel dispatch of the executor and of the hooks that
  // re-run a step (exec/step_runner.hpp for other buffers).
  void run_step(size_t step);
  // The constants version step `step`'s kernel is run with.
  uint64_t constants_epoch(size_t step) const {
    return versions_.for_step(plan_, plan_.steps()[step]);
  }

 private:
  Plan& plan_;
  ConstantVersions& versions_;
  const std::vector<Tensor>* host_inputs_;
};

class Session {
 public:
  explicit Session(Graph graph, SessionOptions opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Graph& graph() const { return graph_; }
  const SessionOptions& options() const { return opts_; }
  // Inputs in graph.inputs order. Validates count, dtype, rank and fixed
  // dims against the model's declared shapes, and finiteness.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Binds inputs by name (every graph input must be given once).
  std::vector<Tensor> run_named(const std::map<std::string, Tensor>& inputs);
  void set_hooks(ExecHooks* hooks) { hooks_ = hooks; }
  ExecHooks* hooks() const { return hooks_; }

  // The pieces of run(), for campaigns that re-run part of a plan:
  // validates and copies the inputs into their plan's arena...
  Plan& load_inputs(const std::vector<Tensor>& inputs);
  // ...runs steps [first_step, end) with the hooks...
  void execute(Plan& plan, size_t first_step = 0);
  // ...and copies the graph outputs out of the plan.
  std::vector<Tensor> collect_outputs(const Plan& plan) const;

  // Repair: copies the host (golden) bytes over every device constant that
  // differs, in every plan. Returns how many constants were repaired.
  size_t restore_constants();
  // Tells fast kernels that cache repacked constants to repack: those
  // reading value v, or all of them (exec/constant_versions.hpp).
  void constant_changed(ValueId v) { versions_.changed(v); }
  void constants_changed() { versions_.all_changed(); }
  ConstantVersions& constant_versions() { return versions_; }
  // All plans built so far (one per input-shape set).
  std::vector<Plan*> plans();
  // The plan for these inputs (built on first use): keyed by the input
  // shapes and by the values of small integer inputs, which the plan treats
  // as constants (see is_plan_time_input).
  Plan& plan_for(const std::vector<Tensor>& inputs);
  void validate_inputs(const std::vector<Tensor>& inputs) const;

 private:
  Graph graph_;
  SessionOptions opts_;
  ExecHooks* hooks_ = nullptr;
  // The inputs of the last load_inputs (shared storage, no copy): the host
  // copy hooks may reload from.
  std::vector<Tensor> host_inputs_;
  const Plan* host_inputs_plan_ = nullptr;
  std::map<std::vector<std::vector<int64_t>>, std::unique_ptr<Plan>> plans_;
  // Device copies of the graph constants, shared by all plans.
  std::vector<Tensor> device_constants_;
  ConstantVersions versions_;
};

// Installs `hooks` on `session` for a scope and puts back what was there
// before when the scope ends, by return or by exception: the one way code
// runs a session with its hooks for a while.
class ScopedHooks {
 public:
  ScopedHooks(Session& session, ExecHooks* hooks) : session_(session), previous_(session.hooks()) {
    session.set_hooks(hooks);
  }
  ~ScopedHooks() { session_.set_hooks(previous_); }
  ScopedHooks(const ScopedHooks&) = delete;
  ScopedHooks& operator=(const ScopedHooks&) = delete;

 private:
  Session& session_;
  ExecHooks* previous_;
};

// Scalars and short vectors (axes, shapes, repeats, scales: at most 8
// elements)
// that a model takes as runtime inputs are folded into the plan like
// constants, so the ops that need them at plan time work.
bool is_plan_time_input(const Tensor& t);

// Runs a plan's steps from `first` to the end with hooks (may be null).
void execute_steps(Plan& plan, ExecHooks* hooks, Execution& ex, size_t first = 0);

}  // namespace save
