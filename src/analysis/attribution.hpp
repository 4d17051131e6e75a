// Bit attribution over a whole model (first cut): counts, per value, the
// float32 bits that are robust, ranging or vulnerable.
//  - Activations: per channel (axis 1) from the channel's interval, or from
//    the value's interval when it has no channel axis; unbounded values
//    count as fully vulnerable. Robust bits come from robust_masks.hpp
//    (numerics, plus robust by operator: negative channels feeding Relu).
//  - Weights: per element from its exact value. A weight read as the weight
//    or bias of Conv / ConvTranspose / Gemm / MatMul is robust where a flip
//    moves the op's outputs by less than the tolerance given the op's input
//    interval (|dw| * max|x| for weights, |db| for biases); elsewhere no bit
//    of a weight is called robust. Every other weight bit is ranging: the
//    weight's interval is its exact value, which any flip leaves.
// Not yet: max-pool losers, argmax margins and splitting along elementwise
// chains (all conservatively non-robust).
#pragma once

#include <string>
#include <vector>

#include "analysis/range_analysis.hpp"

namespace save {

struct ValueBits {
  ValueId value = kNoId;
  bool weight = false;
  uint64_t robust = 0, ranging = 0, vulnerable = 0;
  uint64_t robust_operator = 0;      // of `robust`: robust by operator only
  uint64_t vulnerable_elements = 0;  // elements with >= 1 vulnerable bit
  double seconds = 0;                // time to attribute this value
  // Bytes that would need reliable memory: elements with a vulnerable bit.
  uint64_t reliable_bytes() const { return vulnerable_elements * 4; }
};

struct Attribution {
  std::vector<ValueBits> values;  // activations and weights the plan reads
  uint64_t robust = 0, ranging = 0, vulnerable = 0;
  uint64_t robust_operator = 0;
  double seconds = 0;
};

Attribution attribute_bits(const RangeAnalysis& ra, double tolerance);

}  // namespace save
