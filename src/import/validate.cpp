#include "import/validate.hpp"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "import/tensor_proto.hpp"

namespace save {

namespace {

using A = onnx::AttributeProto;

std::string node_label(const onnx::NodeProto& n, int i) {
  return fmt::format("node '{}' ({})",
                     n.name().empty() ? fmt::format("{}_{}", n.op_type(), i) : n.name(),
                     n.op_type());
}

const char* attr_kind(int t) {
  switch (t) {
    case A::FLOAT:
      return "a float";
    case A::INT:
      return "an int";
    case A::STRING:
      return "a string";
    case A::TENSOR:
      return "a tensor";
    case A::FLOATS:
      return "a list of floats";
    case A::INTS:
      return "a list of ints";
    case A::STRINGS:
      return "a list of strings";
    case A::GRAPH:
      return "a graph";
    default:
      return "a list of graphs, a sparse tensor or a type";
  }
}

// Input and output counts and attribute kinds against the op's schema.
// Ops ONNX does not know are left to the importer (unsupported operator).
void check_schema(const onnx::NodeProto& n, const std::string& where, int64_t opset,
                  uint64_t& const_bytes, const std::string& label) {
  for (const auto& a : n.attribute()) {
    SAVE_CHECK(!a.name().empty(), "{}: an attribute has no name", where);
    SAVE_CHECK(a.type() != A::GRAPHS && a.type() != A::SPARSE_TENSOR &&
                   a.type() != A::SPARSE_TENSORS && a.type() != A::TYPE_PROTO &&
                   a.type() != A::TYPE_PROTOS && a.type() != A::TENSORS,
               "{}: attribute '{}' is {} (lists of graphs, sparse tensors, tensor lists and type "
               "protos are not supported)",
               where, a.name(), attr_kind(a.type()));
    SAVE_CHECK(a.type() != A::UNDEFINED, "{}: attribute '{}' has no type", where, a.name());
    if (a.type() == A::TENSOR)
      const_bytes += check_tensor_proto(a.t(), fmt::format("{} attribute '{}'", where, a.name()));
  }
  const onnx::OpSchema* s =
      onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), onnx::ONNX_DOMAIN);
  if (s == nullptr) return;
  const int ins = n.input_size(), outs = n.output_size();
  SAVE_CHECK(ins >= s->min_input() && ins <= s->max_input(),
             "{}: has {} inputs; {} (opset {}) takes {}", where, ins, n.op_type(), opset,
             s->min_input() == s->max_input()
                 ? std::to_string(s->min_input())
                 : fmt::format("{} to {}", s->min_input(), s->max_input()));
  SAVE_CHECK(outs >= s->min_output() && outs <= s->max_output(),
             "{}: has {} outputs; {} (opset {}) gives {}", where, outs, n.op_type(), opset,
             s->min_output() == s->max_output()
                 ? std::to_string(s->min_output())
                 : fmt::format("{} to {}", s->min_output(), s->max_output()));
  // Only an optional input may be given as "": a required or variadic one
  // given empty is as missing as an absent one (kernels read every input
  // of a variadic list).
  const auto& formal = s->inputs();
  for (int i = 0; i < ins && !formal.empty(); ++i) {
    const auto& f = formal[std::min<size_t>(static_cast<size_t>(i), formal.size() - 1)];
    SAVE_CHECK(!n.input(i).empty() || f.GetOption() == onnx::OpSchema::Optional,
               "{}: input {} ('{}') is required but empty", where, i, f.GetName());
  }
  // The first output may be omitted only where the schema makes it optional
  // (RNN/GRU/LSTM's Y when only the last state Y_h is wanted).
  const bool first_optional =
      !s->outputs().empty() && s->outputs()[0].GetOption() == onnx::OpSchema::Optional;
  for (int i = 0; i < outs; ++i)
    SAVE_CHECK(i > 0 || first_optional || !n.output(i).empty(), "{}: its first output has no name",
               where);
  for (const auto& a : n.attribute()) {
    auto it = s->attributes().find(a.name());
    if (it == s->attributes().end()) continue;  // unknown attributes are ignored, as ONNX does
    SAVE_CHECK(it->second.type == a.type(), "{}: attribute '{}' is {}; {} needs {}", where,
               a.name(), attr_kind(a.type()), n.op_type(), attr_kind(it->second.type));
  }
  for (const auto& [name, attr] : s->attributes()) {
    if (!attr.required) continue;
    bool has = false;
    for (const auto& a : n.attribute()) has = has || a.name() == name;
    SAVE_CHECK(has, "{}: required attribute '{}' is missing", where, name);
  }
  (void)label;
}

void check_type(const onnx::ValueInfoProto& vi, const std::string& what) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
  for (const auto& d : vi.type().tensor_type().shape().dim())
    SAVE_CHECK(!d.has_dim_value() || d.dim_value() >= 0, "{} '{}': negative dimension {}", what,
               vi.name(), d.dim_value());
}

// Checks one graph (the model's, or a subgraph when `outer` is given: the
// names its enclosing graphs define) and orders its nodes. Returns the names
// it reads from enclosing graphs: its owning node depends on their producers.
std::set<std::string> validate_graph(onnx::GraphProto& g, const std::string& label, int64_t opset,
                                     const std::set<std::string>* outer, uint64_t& const_bytes) {
  std::set<std::string> free_names;
  // A node of a subgraph is named with the subgraph's path, so that a user
  // can find it in the model.
  auto in_graph = [&](const std::string& node) {
    return outer == nullptr ? node : fmt::format("{}: {}", label, node);
  };
  SAVE_CHECK(g.sparse_initializer_size() == 0, "{}: sparse initializers are not supported", label);
  // Where each value comes from: -1 a graph input or initializer, else a node.
  std::map<std::string, int> producer;
  for (const auto& init : g.initializer()) {
    SAVE_CHECK(!init.name().empty(), "{}: an initializer has no name", label);
    SAVE_CHECK(producer.emplace(init.name(), -1).second, "{}: initializer '{}' is defined twice",
               label, init.name());
    const_bytes += check_tensor_proto(init, "initializer '" + init.name() + "'");
    check_memory(const_bytes,
                 fmt::format("the model's constants (up to initializer '{}')", init.name()));
  }
  for (const auto& in : g.input()) {
    SAVE_CHECK(!in.name().empty(), "{}: a graph input has no name", label);
    check_type(in, "graph input");
    producer.emplace(in.name(), -1);  // an initializer may also be listed as input
  }
  for (const auto& vi : g.value_info()) check_type(vi, "value");
  for (const auto& out : g.output()) check_type(out, "graph output");

  const int n = g.node_size();
  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto& node = g.node(i);
    const std::string where = in_graph(node_label(node, i));
    SAVE_CHECK(!node.op_type().empty(), "{}: node {} has no operator type", label, i);
    SAVE_CHECK(node.domain().empty() || node.domain() == "ai.onnx",
               "{}: operator domain '{}' is not supported", where, node.domain());
    check_schema(node, where, opset, const_bytes, label);
    for (const std::string& out : node.output()) {
      if (out.empty()) continue;
      auto [it, fresh] = producer.emplace(out, i);
      SAVE_CHECK(fresh, "{}: output '{}' is already {}", where, out,
                 it->second < 0 ? std::string("a graph input or initializer")
                                : "produced by " + node_label(g.node(it->second), it->second));
    }
  }

  // Names visible inside this graph's subgraphs: everything in scope here.
  std::set<std::string> scope;
  if (outer != nullptr) scope = *outer;
  for (const auto& [name, p] : producer) scope.insert(name);
  // A name read here: a dependency on its producer, or a read of an
  // enclosing graph's value.
  auto reads = [&](const std::string& in, const std::string& where, std::set<int>& deps) {
    auto it = producer.find(in);
    if (it != producer.end()) {
      if (it->second >= 0) deps.insert(it->second);
      return;
    }
    SAVE_CHECK(outer != nullptr && outer->count(in) != 0,
               "{}: input '{}' is not produced by any node, graph input or initializer{}", where,
               in, outer ? " of this subgraph or an enclosing graph" : "");
    free_names.insert(in);
  };
  // Kahn's algorithm, taking the lowest original index first so that an
  // ordered model keeps its order.
  std::vector<std::vector<int>> readers(static_cast<size_t>(n));
  std::vector<int> waiting(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto& node = g.node(i);
    std::set<int> deps;
    const std::string where = in_graph(node_label(node, i));
    for (const std::string& in : node.input())
      if (!in.empty()) reads(in, where, deps);
    // A subgraph's reads of this graph's values are the node's inputs too
    // (the importer makes them explicit: ir/graph.hpp, Subgraph).
    for (auto& a : *g.mutable_node(i)->mutable_attribute()) {
      if (a.type() != A::GRAPH) continue;
      std::set<std::string> sub =
          validate_graph(*a.mutable_g(), fmt::format("{} subgraph '{}'", where, a.name()), opset,
                         &scope, const_bytes);
      for (const std::string& in : sub) reads(in, where, deps);
    }
    SAVE_CHECK(deps.count(i) == 0, "{}: reads its own output (a cycle)", where);
    for (int d : deps) readers[static_cast<size_t>(d)].push_back(i);
    waiting[static_cast<size_t>(i)] = static_cast<int>(deps.size());
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (waiting[static_cast<size_t>(i)] == 0) ready.push(i);
  std::vector<int> order;
  order.reserve(static_cast<size_t>(n));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int r : readers[static_cast<size_t>(i)])
      if (--waiting[static_cast<size_t>(r)] == 0) ready.push(r);
  }
  if (static_cast<int>(order.size()) < n) {
    int stuck = 0;
    while (waiting[static_cast<size_t>(stuck)] == 0) ++stuck;
    fail("{}: the nodes form a cycle ({} cannot be ordered: its inputs depend on a cycle)", label,
         node_label(g.node(stuck), stuck));
  }
  bool sorted = true;
  for (int i = 0; i < n; ++i) sorted = sorted && order[static_cast<size_t>(i)] == i;
  if (!sorted) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (int i : order) *nodes.Add() = g.node(i);
    g.mutable_node()->Swap(&nodes);
  }
  for (const auto& out : g.output()) {
    SAVE_CHECK(!out.name().empty(), "{}: a graph output has no name", label);
    SAVE_CHECK(producer.count(out.name()) != 0 || (outer != nullptr && outer->count(out.name())),
               "{}: graph output '{}' is never produced", label, out.name());
    if (producer.count(out.name()) == 0) free_names.insert(out.name());
  }
  return free_names;
}

}  // namespace

void validate_model(onnx::ModelProto& model, const std::string& label, int64_t opset) {
  uint64_t const_bytes = 0;
  validate_graph(*model.mutable_graph(), "'" + label + "'", opset, nullptr, const_bytes);
  check_memory(const_bytes, "the model's constants");
}

}  // namespace save
