// TensorProto <-> Tensor. Private to the importer (includes protobuf types).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.hpp"

namespace save {

// `where` names the tensor in error messages.
Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where);

}  // namespace save
