// Graph pass: a constant Mul or Add (scalar or per output channel) right
// after a Conv or Gemm with constant weights is folded into the weights and
// bias (y = (W x + b) * s + t = (s W) x + (s b + t)), as BatchNormalization
// folding does. MobileNet-style exports write their scale/bias this way.
#pragma once

#include "ir/graph.hpp"

namespace save {

// Returns the number of Mul/Add nodes folded.
size_t fold_scale_bias(Graph& g);

}  // namespace save
