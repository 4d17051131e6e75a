// Which bits of a value the protection may ignore: per value, a mask of the
// float32 bits that are robust (bit i set: a flip of bit i cannot change the
// result beyond the tolerance), by numerics or by operator.
//  - Activations: one mask per channel (axis 1), or a single mask when the
//    value has no channel axis; the mask holds for every element of the
//    channel and every input the constraint allows.
//  - Constants (weights): one mask per element, from the exact value and the
//    tolerance scaled to the consuming op (see weight_tolerance).
// Robust by operator (activations): a channel known negative (hi < 0) whose
// only readers are Relu, or Clip with an exact lower bound >= 0, gives the
// same output after any flip that keeps it negative: every non-sign bit,
// except exponent bits that could turn some value of the channel into NaN
// (exponent field 255: a NaN would propagate through max()).
// Not covered (conservatively non-robust): max-pool losers and argmax
// margins, which need per-element masks; see docs/ANALYSIS.md.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "analysis/range_analysis.hpp"

namespace save {

// `tol` everywhere is the tolerance on the model's outputs: a robust bit's
// flip must not move any output by more. Robustness is established locally
// (the value itself, or the output of the op reading a weight, moves by
// less than a budget), and the layers after it can amplify that change, so
// local claims use tol / kDownstreamGain. Not a proven bound (a sound
// Lipschitz bound from the intervals is astronomically loose on deep
// networks); chosen from the ground-truth sweep (docs/ANALYSIS.md): with
// the full tol as local budget, 8 of 40,000 predicted-robust fmnist-resnet
// weight bits moved a logit by up to 1.97e-5 > 1e-5 (gain up to ~2.6 from
// the first convolutions' outputs); 10 leaves a margin of ~4.
inline constexpr double kDownstreamGain = 10;
inline double local_tolerance(double tol) {
  return tol / kDownstreamGain;
}

struct RobustMasks {
  std::vector<uint32_t> numeric;      // robust by numerics
  std::vector<uint32_t> by_operator;  // robust by operator (not already numeric)
  // numeric | by_operator, the bits the protection ignores.
  std::vector<uint32_t> all() const;
  // Elements each mask covers (the channel's size; 1 for constants).
  int64_t elements_per_mask = 1;
};

// Empty when `v` is not a float32 value the plan materialises.
RobustMasks robust_mask_detail(const RangeAnalysis& ra, ValueId v, double tol);
std::vector<uint32_t> robust_masks(const RangeAnalysis& ra, ValueId v, double tol);

// The largest change of a weight element that keeps every op reading it
// within `tol` (a local budget: pass local_tolerance(output tol)) of its
// output, float rounding included: (1 + gamma_n) |dw| max|x| < tol for a
// Conv/Gemm/MatMul weight given the op's input interval, (1 + gamma_n) |db|
// for a bias (gamma_n: ops/interval.hpp, n the reader's terms per output).
// The rounded claim: the reader's computed output lies within tol of the
// envelope [y* - E, y* + E] of what any correct float32 kernel computes for
// the fault-free weights (y* exact, E = gamma_n sum |w x| + |b|), whatever
// the ISA, order, blocking or fusion. 0 when some reader is another op (no
// bit of the weight may then be called robust).
double weight_tolerance(const RangeAnalysis& ra, ValueId w, double tol);

// What the claim above allows a real run to observe at the weight's first
// reader step: two correct kernels may differ by 2E (both inside the
// envelope), so a flip by dw moves the computed output, compared with the
// fault-free computed output, by at most per_unit * |dw| + slack, with
// per_unit = (1 + gamma_n) max|x| (1 + gamma_n for a bias) and slack =
// 2 gamma_n max S (S over the reader's outputs and the input box, plus
// underflow). The validation's notion of "moved" for the local claim
// (inject/sweep.cpp). Infinite when the reader is not a linear op.
struct ReaderChange {
  double per_unit = INFINITY;
  double slack = INFINITY;
  double bound(double dw) const { return per_unit * std::fabs(dw) + slack; }
};
ReaderChange reader_change(const RangeAnalysis& ra, ValueId w);

// The robust mask of an exact value w at tolerance tol: what classify_bits
// (w, w, tol) calls robust, in closed form with per-exponent tables (weights:
// one call per element, tens of millions in large models).
class PointMasker {
 public:
  explicit PointMasker(double tol);
  uint32_t operator()(float w) const;

 private:
  struct Factor {
    double scale, na, nb;  // |2^(e2 - e) - 1|; or, from zero/subnormal, [na, nb]
  };
  double tol_;
  std::array<uint32_t, 256> mantissa_{};
  std::array<std::array<Factor, 8>, 256> factor_{};
};
uint32_t point_robust_mask(float w, double tol);

// Channels of an activation known negative whose every reader maps all
// negative inputs to one output (Relu; Clip with exact min >= 0).
bool readers_flatten_negatives(const RangeAnalysis& ra, ValueId v);

// The robust-by-operator mask of a negative channel [lo, hi] (hi < 0)
// feeding such readers: all 31 non-sign bits but the NaN-risky exponent bits.
uint32_t negative_to_relu_mask(float lo, float hi);

}  // namespace save
