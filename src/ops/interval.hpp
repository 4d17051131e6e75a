// Interval rules of the analysis stage (SAVE "Selection", range analysis).
//
// A rule sees one node, the per-element bounds [lo, hi] of each input and
// fills per-element bounds of each output: every output any input inside its
// bounds can produce must lie inside. Rules mostly reuse the op's own
// reference kernel (run on chosen corner / midpoint inputs), so a rule never
// re-implements an op's indexing. The generic rules below cover most ops;
// each op family attaches them (or a custom rule) next to its shape rule.
//
// Floating point: rules compute in float32 and real runs use other kernels
// (oneDNN) with other rounding, so eval_interval widens every float output
// after the rule (IntervalOptions) and turns NaN bounds into +-inf.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.hpp"
#include "ops/op.hpp"

namespace save {

// Bounds of one value: lo/hi with the value's dtype and shape. Float values
// that are unbounded hold -inf/+inf with known=true; non-float values cannot
// hold infinities: known=false (tensors still allocated, zero: the value is
// present). An omitted optional input is Bounds{} (no tensors).
struct Bounds {
  bool known = false;
  Tensor lo, hi;
  // lo == hi everywhere (a constant, or computed only from constants).
  bool exact() const;
  static Bounds unbounded(const TensorInfo& info);  // float: -inf/+inf; else unknown
  static Bounds point(const Tensor& value);         // lo == hi == value (shares storage)
};

// Float rounding allowances. Justified by the soundness tests
// (tests/analysis/range_analysis_test.cpp): the widening must cover the
// difference between the float32 rule computation and any kernel's rounding.
struct IntervalOptions {
  // Every float output: lo -= m, hi += m with
  // m = rel_margin * (|lo| + |hi|) + abs_margin * max |bound| over the tensor.
  double rel_margin = 1e-5;
  double abs_margin = 1e-6;
  // Linear/bilinear ops (sums of products): extra radius
  // accum_rel * (|W| . (|x_center| + x_radius)), covering accumulation error
  // of long dot products relative to the sum of absolute terms (which can
  // be far larger than the result when terms cancel).
  double accum_rel = 1e-5;
};

struct IntervalContext {
  const Node& node;
  int64_t opset;
  const OpDef& def;
  const IntervalOptions& opts;
  // Per node input; both views have data == nullptr for an omitted input and
  // for an unknown (unbounded non-float) input: see known().
  std::span<const TensorView> lo, hi;
  std::span<const uint8_t> in_known, in_exact;
  // Per node output, allocated by the caller with the output's dtype/shape.
  std::span<const TensorView> out_lo, out_hi;
  // Rules set these: out_known[i] = 0 declines output i (unbounded);
  // *exact_arith = true when the op only moves/selects values (no rounding:
  // no widening).
  uint8_t* out_known;
  bool* exact_arith;

  size_t num_inputs() const { return lo.size(); }
  bool has_input(size_t i) const { return i < lo.size() && (in_known[i] || lo[i].present()); }
  bool known(size_t i) const { return i < lo.size() && in_known[i]; }
  bool exact(size_t i) const { return known(i) && in_exact[i]; }
  const Attributes& attrs() const { return node.attrs; }
  void decline() const;  // every output unbounded
  // Runs the op's reference kernel on `inputs` into `outputs`.
  void run_reference(std::span<const TensorView> inputs, std::span<const TensorView> outputs) const;
};

// Runs `def`'s interval rule (or the generic exact rule when all inputs are
// exact) for one node; returns bounds per node output (unknown where the
// op has no rule or the rule declined). The single entry point of the
// range analysis and the per-op soundness tests.
std::vector<Bounds> eval_interval(const OpDef& def, const Node& node, int64_t opset,
                                  const std::vector<Bounds>& inputs,
                                  const std::vector<TensorInfo>& outputs,
                                  const IntervalOptions& opts);

// ---- generic rules, attached by the op families ----
// Output non-decreasing in every float input; non-float inputs must be exact.
void interval_monotone(const IntervalContext& ctx);
// The same for ops that only copy/select values (no rounding, no widening).
void interval_copy(const IntervalContext& ctx);
// Per-input signs: +1 non-decreasing, -1 non-increasing, 0 must be exact.
// Inputs past signs.size() follow interval_monotone's default.
void monotone(const IntervalContext& ctx, std::span<const int8_t> signs);
// Elementwise op in input 0 (others exact) that is monotone on each side of
// `pivot`: the extremes over [lo, hi] are at lo, hi or clamp(pivot, lo, hi).
// `slack` is subtracted from the low bound (pivot known only approximately).
void pivot_rule(const IntervalContext& ctx, double pivot, double slack = 0);
// Elementwise binary op whose extremes over a box are at its 4 corners
// (Mul; Div where the divisor excludes 0: elements where it does not are
// made unbounded).
void corners(const IntervalContext& ctx);
// Widens every float output by `m` absolutely: for kernels whose error is
// absolute rather than relative (oneDNN's log: up to 3.6e-6 near x = 1).
void widen_abs(const IntervalContext& ctx, double m);
// Multilinear ops (Conv, ConvTranspose, Gemm, MatMul, Einsum): linear in
// each input of `factors`, plus an exact additive `bias` input (-1: none).
// One variable factor: center/radius form of the W+/W- split; two: Rump's
// midpoint-radius interval product.
void multilinear(const IntervalContext& ctx, std::span<const int> factors, int bias);

}  // namespace save
