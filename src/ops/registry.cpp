// The op registry: gathers every family's OpDefs (see op_list.inc) once.
#include "ops/registry.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "ops/op.hpp"

namespace save {

namespace {

// Every op in op_list.inc order, and the same ops keyed by (domain, type).
struct Table {
  std::vector<const OpDef*> ops;
  std::map<std::pair<std::string_view, std::string_view>, const OpDef*> by_key;
};

Table build() {
  OpRegistry r;
#define SAVE_OP_FAMILY(f) register_##f##_ops(r);
#include "ops/op_list.inc"
#undef SAVE_OP_FAMILY
  Table t{r.ops, {}};
  for (const OpDef* d : t.ops) {
    bool fresh =
        t.by_key.emplace(std::pair{std::string_view(d->domain), std::string_view(d->name)}, d)
            .second;
    // Two files defining one (domain, type) is a programming error, caught by
    // the registry test on the first lookup.
    if (!fresh)
      throw std::logic_error(
          fmt::format("op '{}' in domain '{}' is registered twice", d->name, d->domain));
  }
  return t;
}
const Table& table() {
  static const Table t = build();
  return t;
}
}  // namespace

const OpDef* find_op(std::string_view op_type, std::string_view domain) {
  if (domain == "ai.onnx") domain = "";
  const auto& by_key = table().by_key;
  auto it = by_key.find({domain, op_type});
  return it == by_key.end() ? nullptr : it->second;
}

std::span<const OpDef* const> all_ops() {
  return table().ops;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  // Strict at rank 0 too: every caller indexes the shape with the result
  // (fuzz_model found Split reading shape[0] of a scalar).
  SAVE_NODE_CHECK(axis >= -rank && axis < rank, node, "axis {} out of range for rank {}{}", axis,
                  rank, rank == 0 ? " (a scalar)" : "");
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    SAVE_NODE_CHECK(da == db || da == 1 || db == 1, node, "shapes {} and {} do not broadcast",
                    shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

const TensorInfo& InferContext::input(size_t i) const {
  SAVE_NODE_CHECK(has_input(i), node, "input {} is required", i);
  return *inputs[i];
}

const Tensor& InferContext::constant(size_t i) const {
  SAVE_NODE_CHECK(i < constants.size() && constants[i] != nullptr, node,
                  "input {} must be known when the model is planned (a constant or "
                  "computed from shapes only)",
                  i);
  return *constants[i];
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  if (outputs.size() <= i) outputs.resize(i + 1);
  outputs[i] = TensorInfo{dtype, std::move(shape)};
}

}  // namespace save
