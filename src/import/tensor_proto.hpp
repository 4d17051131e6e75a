// TensorProto <-> Tensor. Private to the importer (includes protobuf types).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.hpp"

namespace save {

// Checks dims (no negative, no overflow), that the data holds exactly what
// the dims need, and the memory limit, without allocating; returns the
// byte size. `where` names the tensor in error messages.
uint64_t check_tensor_proto(const onnx::TensorProto& t, const std::string& where);
// check_tensor_proto, then the tensor.
Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where);

}  // namespace save
