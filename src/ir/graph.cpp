#include "ir/graph.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace save {

ValueId Graph::find_value(const std::string& name) const {
  for (ValueId i = 0; i < values.size(); ++i)
    if (values[i].name == name) return i;
  return kNoId;
}

void Graph::link() {
  for (auto& v : values) {
    v.producer = kNoId;
    v.consumers.clear();
  }
  for (NodeId n = 0; n < nodes.size(); ++n) {
    for (ValueId o : nodes[n].outputs) {
      if (o == kNoId) continue;
      SAVE_CHECK(values[o].producer == kNoId && !values[o].constant && !values[o].is_graph_input,
                 "value '{}' is produced twice ({})", values[o].name, describe(n));
      values[o].producer = n;
    }
  }
  for (NodeId n = 0; n < nodes.size(); ++n) {
    for (ValueId i : nodes[n].inputs) {
      if (i == kNoId) continue;
      const Value& v = values[i];
      SAVE_CHECK(v.constant || v.is_graph_input || (v.producer != kNoId && v.producer < n),
                 "{} reads value '{}' before it is produced", describe(n), v.name);
      values[i].consumers.push_back(n);
    }
  }
}

std::string Graph::describe(NodeId n) const {
  return node_label(nodes[n]);
}

std::string node_label(const Node& n) {
  return fmt::format("node '{}' ({})", n.name, n.op);
}

Tensor constant_node_value(const Node& n) {
  const Attributes& a = n.attrs;
  if (const Tensor* t = a.get_tensor("value")) return *t;
  if (a.has("value_float")) return Tensor::scalar<float>(a.get_float("value_float", 0.f));
  if (a.has("value_int")) return Tensor::scalar<int64_t>(a.get_int("value_int", 0));
  if (a.has("value_floats")) {
    auto v = a.get_floats("value_floats");
    return Tensor::from<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (a.has("value_ints")) {
    auto v = a.get_ints("value_ints");
    return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  node_fail(n,
            "needs one of the attributes value, value_float, value_floats, value_int, "
            "value_ints (string and sparse constants are not supported)");
}

}  // namespace save
