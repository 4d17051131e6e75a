// Graph pass: folds an inference-mode BatchNormalization into the Conv that
// feeds it (the usual deployment rewrite; ONNX Runtime does the same). The
// folded weights become the model as it runs: the host golden copy and the
// device copy both hold them.
#pragma once

#include "ir/graph.hpp"

namespace save {

// Returns the number of BatchNormalization nodes folded.
size_t fold_batchnorm_into_conv(Graph& g);

}  // namespace save
