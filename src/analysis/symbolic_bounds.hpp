// The symbolic pass of the range analysis (issue 11, item 2): walks the plan
// beside the interval rules and keeps, for the values that ops it knows
// compute, linear bounds in the model's input elements (symbolic_form.hpp).
// After each step's interval rule it concretises the output's form over the
// input box and intersects: a value's bounds are the tighter of the two,
// element by element, and the interval rules of later steps start from them.
//
// Ops with a symbolic rule (the linear chain of CNNs and ResNets): Conv,
// Gemm (transA = 0) and MatMul with constant weights and their fused forms
// with Relu / Add / Mul post-ops, Add and Sub of two forms or a form and a
// constant, Mul and Div by a constant, Relu, MaxPool, GlobalAveragePool, AveragePool,
// and the ops that only reshape (Flatten, Reshape, Squeeze, Unsqueeze,
// Identity, Dropout). Any other op concretises: its output has the interval
// rule's bounds and no form, and a form starts again nowhere downstream
// (a constant form stands for it where a linear op mixes it with one that has
// a form).
//
// Cost: each form holds 2 x G x numel floats (G = input elements + 1), so it
// is off when the inputs have more than `max_generators` elements, and a
// value whose form would push the live forms past `max_bytes` gets none.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exec/plan.hpp"
#include "ops/interval.hpp"

namespace save {

struct SymbolicOptions {
  // Off by default: on the bundled models it tightens nothing yet (every
  // Relu of a deep layer straddles 0 over the whole input box, and the
  // relaxation then grows as fast as the intervals; docs/ANALYSIS.md).
  bool enabled = false;
  int64_t max_generators = 4096;
  double max_bytes = 4e9;
};

struct SymbolicStats {
  bool on = false;
  std::string off_reason;         // why it is off, when it is
  int64_t generators = 0;         // input elements the forms are linear in
  int64_t values_with_form = 0;   // values that got a form
  int64_t values_tightened = 0;   // ... whose bounds it narrowed somewhere
  int64_t disjoint_elements = 0;  // form and interval disagree (a soundness bug)
  double peak_bytes = 0;          // largest total of live forms
  double seconds = 0;
};

class SymbolicBounds {
 public:
  // `bounds`: by ValueId, the inputs' and constants' bounds already set.
  SymbolicBounds(const Plan& plan, const std::vector<Bounds>& bounds, const SymbolicOptions& opts,
                 const IntervalOptions& interval);
  ~SymbolicBounds();
  // After the interval rule of step `s` filled bounds[its outputs]: refines
  // them in place.
  void after_step(size_t s, std::vector<Bounds>& bounds);
  const SymbolicStats& stats() const { return stats_; }

 private:
  struct State;
  std::unique_ptr<State> st_;
  SymbolicStats stats_;
};

}  // namespace save
