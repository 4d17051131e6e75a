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
  // m = rel_margin * (|lo| + |hi|) + abs_margin * max |bound| over the tensor
  // (elementwise ops: a few ulps of library rounding; 1e-5 is ~80 ulps).
  double rel_margin = 1e-5;
  double abs_margin = 1e-6;
  // Sums of products (Conv, ConvTranspose, Gemm, MatMul, Einsum) and sums
  // (ReduceSum/Mean, average pools): extra radius
  // accum_gammas * gamma_n * (sum of absolute terms), n the terms per output
  // element (dot_terms / sum_terms). gamma_n bounds one evaluation in any
  // order (see gamma_n); the rule's own float evaluation of the centre and of
  // the radius each err by up to gamma_n too, hence 3, plus one for the
  // rounding of the radius' input: 4.
  double accum_gammas = 4;
};

// Unit roundoff of float32, round to nearest: |fl(a op b) - (a op b)| <= u |a op b|.
inline constexpr double kUnitRoundoff = 0x1p-24;

// gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical
// Algorithms, Lemma 3.1 and section 3.1): a float32 sum of n terms (products
// w_i x_i, rounded or fused, plus an exact bias term) evaluated along ANY
// summation tree -- any order, blocking, vector-lane split, FMA or not,
// whatever the ISA -- satisfies |fl(sum) - sum| <= gamma_n * sum |terms|,
// since each term passes through at most n roundings. +inf when n u >= 1.
// (Underflow adds at most 2^-126 per rounding, also with flush-to-zero:
// covered by the absolute margin.)
double gamma_n(int64_t n);

// Terms summed into one output element (an upper bound; +1 for a present
// bias input) of a Conv, ConvTranspose, Gemm, MatMul or Einsum node whose
// inputs have these shapes (omitted inputs: empty shape with has[i] == 0).
// -1 for another op.
int64_t dot_terms(const Node& node, std::span<const Shape> inputs, std::span<const uint8_t> has,
                  std::span<const int64_t> output);

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
// Sums (ReduceSum, ReduceMean, AveragePool, GlobalAveragePool, CumSum):
// non-decreasing in input 0, widened by the accumulation allowance
// accum_gammas * gamma_{n+1} * op(max(|lo|, |hi|)), n = sum_terms (the +1:
// a mean's final division or scaling).
void interval_sum(const IntervalContext& ctx);
// Terms summed into one output element of such a node (upper bound), -1
// for another op.
int64_t sum_terms(const Node& node, std::span<const int64_t> input0,
                  std::span<const int64_t> output);
// Multilinear ops (Conv, ConvTranspose, Gemm, MatMul, Einsum): linear in
// each input of `factors`, plus an exact additive `bias` input (-1: none).
// One variable factor: center/radius form of the W+/W- split; two: Rump's
// midpoint-radius interval product. Plus the accumulation allowance
// accum_gammas * gamma_n * (|W| (|x_c| + x_r) + |b|), n = dot_terms: also
// when every input is exact (eval_interval then calls the rule too).
void multilinear(const IntervalContext& ctx, std::span<const int> factors, int bias);

}  // namespace save
