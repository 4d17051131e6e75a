// Import: ONNX protobuf to our flat IR. The only place protobuf is used.
#pragma once

#include <string>

#include "core/tensor.hpp"
#include "ir/graph.hpp"

namespace save {

struct ImportOptions {
  // Models whose default-domain opset is below this are upgraded with ONNX's
  // version converter (when it can; otherwise the ops' tolerant rules apply).
  int64_t upgrade_below_opset = 13;
};

// Reads and converts a model file. Throws Error naming the file and the
// problem (missing, not a protobuf, truncated, unsupported construct).
Graph import_onnx_file(const std::string& path, const ImportOptions& opts = {});
Graph import_onnx_bytes(const std::string& bytes, const std::string& label,
                        const ImportOptions& opts = {});

// Reads one serialized TensorProto (the backend test suite's *.pb files).
Tensor load_tensor_pb(const std::string& path);

}  // namespace save
