// The op registry: gathers every family's OpDefs (see op_list.inc) once.
#include "ops/registry.hpp"

#include <algorithm>
#include <string_view>

#include "ops/op.hpp"

namespace save {

#define SAVE_OP_FAMILY(f) void register_##f##_ops(OpRegistry& r);
#include "ops/op_list.inc"
#undef SAVE_OP_FAMILY

namespace {
std::vector<const OpDef*> build() {
  OpRegistry r;
#define SAVE_OP_FAMILY(f) register_##f##_ops(r);
#include "ops/op_list.inc"
#undef SAVE_OP_FAMILY
  return r.ops;
}
const std::vector<const OpDef*>& table() {
  static const std::vector<const OpDef*> t = build();
  return t;
}
}  // namespace

const OpDef* find_op(std::string_view op_type, std::string_view domain) {
  if (domain == "ai.onnx") domain = "";
  for (const OpDef* d : table())
    if (op_type == d->name && domain == d->domain) return d;
  return nullptr;
}

std::span<const OpDef* const> all_ops() {
  return table();
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  SAVE_CHECK(axis >= -rank && axis < std::max<int64_t>(rank, 1),
             "node '{}' ({}): axis {} out of range for rank {}", node.name, node.op, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    SAVE_CHECK(da == db || da == 1 || db == 1, "node '{}' ({}): shapes {} and {} do not broadcast",
               node.name, node.op, shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

const TensorInfo& InferContext::input(size_t i) const {
  SAVE_CHECK(has_input(i), "node '{}' ({}): input {} is required", node.name, node.op, i);
  return *inputs[i];
}

const Tensor& InferContext::constant(size_t i) const {
  SAVE_CHECK(i < constants.size() && constants[i] != nullptr,
             "node '{}' ({}): input {} must be known when the model is planned (a constant or "
             "computed from shapes only)",
             node.name, node.op, i);
  return *constants[i];
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  if (outputs.size() <= i) outputs.resize(i + 1);
  outputs[i] = TensorInfo{dtype, std::move(shape)};
}

}  // namespace save
