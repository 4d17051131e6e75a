// Graph pass: LayerNormalization spelled out in primitive ops (what
// exporters write below opset 17),
//   m = ReduceMean(x, [-1]); d = x - m; v = ReduceMean(d^2, [-1]);
//   y = d / Sqrt(v + eps) * gamma [+ beta]
// (d^2 as Pow(d, 2) or d * d), becomes one LayerNormalization(x, gamma,
// beta; axis -1, epsilon eps): one kernel and one interval rule instead of
// nine steps and eight stored intermediates. Every value it removes must be
// read only inside the pattern and not be a graph output.
#pragma once

#include "ir/graph.hpp"

namespace save {

// Returns the number of patterns rewritten.
size_t rewrite_layernorm_pattern(Graph& g);

}  // namespace save
