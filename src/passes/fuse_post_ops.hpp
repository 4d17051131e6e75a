// Graph pass: a Conv, ConvTranspose, MatMul or Gemm followed by a chain of
// elementwise ops becomes one fused node (ops/fused.hpp) that oneDNN runs as
// one primitive with post-ops: Relu, LeakyRelu, Clip (constant bounds),
// Sigmoid, HardSigmoid, HardSwish, swish x * sigmoid(x), Gelu (both forms),
// Tanh, and Add / Mul by another value (a residual, a bias: MatMul + Add, a
// scale), in any order and number. A link of the chain is taken only when
// the value before it is read by that link alone (swish: by its Sigmoid and
// Mul) and is not a graph output, so the values the fusion removes are read
// nowhere else.
#pragma once

#include "ir/graph.hpp"

namespace save {

// Returns the number of nodes removed (folded into fused nodes).
size_t fuse_post_ops(Graph& g);

}  // namespace save
