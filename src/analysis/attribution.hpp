// Bit attribution over a whole model (first cut): counts, per value, the
// float32 bits that are robust, ranging or vulnerable.
//  - Activations: per channel (axis 1) from the channel's interval, or from
//    the value's interval when it has no channel axis; unbounded values
//    count as fully vulnerable.
//  - Weights: per element from its exact value. A weight read as the weight
//    or bias of Conv / ConvTranspose / Gemm / MatMul is robust where a flip
//    moves the op's outputs by less than the tolerance given the op's input
//    interval (|dw| * max|x| for weights, |db| for biases); elsewhere no bit
//    of a weight is called robust. Every other weight bit is ranging: the
//    weight's interval is its exact value, which any flip leaves.
// Not yet: robust-by-operator bits (ReLU after a known-negative value,
// max-pool losers) and splitting along elementwise chains.
#pragma once

#include <string>
#include <vector>

#include "analysis/range_analysis.hpp"

namespace save {

struct ValueBits {
  ValueId value = kNoId;
  bool weight = false;
  uint64_t robust = 0, ranging = 0, vulnerable = 0;
};

struct Attribution {
  std::vector<ValueBits> values;  // activations and weights the plan reads
  uint64_t robust = 0, ranging = 0, vulnerable = 0;
  double seconds = 0;
};

Attribution attribute_bits(const RangeAnalysis& ra, double tolerance);

}  // namespace save
