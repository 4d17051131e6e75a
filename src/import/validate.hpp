// The model checked before any library code sees it: ONNX's version
// converter dereferences a node's inputs and attributes as its schema
// declares them (a Softmax with no inputs was a SIGSEGV inside it), so the
// graph's arity, references, attribute kinds and tensor sizes are checked
// here first, and the nodes are put in topological order.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

namespace save {

// Throws Error naming the node, value or tensor on: a reference to a value
// nothing defines, a value defined twice, a cycle, an input or output count
// or attribute kind the op's schema (at the model's opset) does not allow,
// a non-default operator domain, graph-valued attributes, sparse
// initializers, a tensor whose dims overflow or whose data does not match
// them, or constants beyond the memory limit. Reorders the nodes
// topologically (stable: an ordered model is left as it is).
void validate_model(onnx::ModelProto& model, const std::string& label, int64_t opset);

}  // namespace save
