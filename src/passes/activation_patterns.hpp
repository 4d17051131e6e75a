// Graph pass: activations that exporters spell out in primitive ops become
// the one ONNX op they compute, so that the fusion pass can fuse them and a
// single kernel runs them:
//  - hard-swish x * clip(x + 3, 0, 6) / 6 (also Relu6 = Clip(0, 6), division
//    by 6 or multiplication by 1/6 before or after the product with x, and
//    HardSigmoid(x) * x with alpha 1/6, beta 1/2) -> HardSwish(x);
//  - Gelu, erf form x * 0.5 * (1 + erf(x / sqrt 2)) (x / sqrt 2 or
//    x * (1 / sqrt 2); the 0.5 applied to x, to the sum or to the product)
//    -> Gelu(x), and tanh form 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715
//    x^3))) with x^3 as Pow(x, 3) or x * x * x -> Gelu(x, approximate=tanh).
// Every value the pattern removes must have its single reader inside the
// pattern and not be a graph output.
#pragma once

#include "ir/graph.hpp"

namespace save {

// Returns the number of patterns rewritten.
size_t rewrite_activation_patterns(Graph& g);

}  // namespace save
