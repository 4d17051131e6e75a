// The flat IR every stage works on. Values and nodes live in two arrays and
// refer to each other by 32-bit ids (XNNPACK's shape): a value knows its
// producer and consumers, a node its inputs and outputs. Nodes are kept in a
// topological order. Nothing of protobuf appears here.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "ir/attributes.hpp"

namespace save {

using ValueId = uint32_t;
using NodeId = uint32_t;
inline constexpr uint32_t kNoId = std::numeric_limits<uint32_t>::max();

// A dimension of a graph-level shape: a size, or unknown (-1) with an
// optional symbolic name such as "batch".
struct Dim {
  int64_t size = -1;
  std::string symbol;
  bool known() const { return size >= 0; }
};

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  // Declared shape; may hold unknown dims. Empty with has_shape=false when
  // the model says nothing about it.
  std::vector<Dim> shape;
  bool has_shape = false;
  NodeId producer = kNoId;         // kNoId for graph inputs and constants
  std::vector<NodeId> consumers;   // each consuming node once per use
  std::optional<Tensor> constant;  // weights: initializers and Constant nodes
  bool is_graph_input = false;
  bool is_graph_output = false;
};

struct Node {
  std::string name;  // ONNX node name, or "<op>_<index>" when the model has none
  std::string op;    // operator type, e.g. "Conv"
  std::string domain;
  Attributes attrs;
  std::vector<ValueId> inputs;   // kNoId marks an omitted optional input
  std::vector<ValueId> outputs;  // kNoId marks an omitted optional output
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;      // topological order
  std::vector<ValueId> inputs;  // runtime inputs (initializers excluded)
  std::vector<ValueId> outputs;
  int64_t opset = 0;  // default-domain opset after import
  std::string producer_name;
  // Names of the graph passes that ran on this graph, in order
  // (passes/pipeline.hpp); empty: the graph as written. A protection plan
  // is tied to them.
  std::vector<std::string> passes;

  ValueId find_value(const std::string& name) const;  // kNoId when absent
  // Recomputes producer/consumer links and checks the order is topological.
  void link();
  std::string describe(NodeId n) const;  // "node 'name' (Op)"
};

// A graph-valued attribute: the branches of If, the body of Loop and Scan.
// ONNX scopes names lexically: a subgraph may read any value of an enclosing
// graph by name. The importer turns each such read into an explicit edge, so
// that ordering, liveness, fault injection and range analysis of the outer
// graph see it as an ordinary node input: the outer value is appended to the
// node's inputs (after the ONNX ones, once per node however many of its
// subgraphs read it), and the subgraph gets a graph input for it after its
// own formal inputs. Inside, the subgraph is a complete Graph (its own
// values, nodes, initializers, opset) that never refers to the outer one.
struct Subgraph {
  Graph graph;
  // graph.inputs[0, num_formal): the inputs ONNX declares (Loop's iteration
  // number, condition and carried values; Scan's states and slices; none
  // for If). graph.inputs[num_formal + k] is the captured outer value that
  // the owning node receives as its input capture_slots[k].
  size_t num_formal = 0;
  std::vector<size_t> capture_slots;
};

// "node 'name' (Op)": how every message about one node starts (import,
// validation, shape rules, kernels), so a user can find the node in the model.
std::string node_label(const Node& n);

// Throws Error "node 'name' (Op): <message>".
template <typename... Args>
[[noreturn]] void node_fail(const Node& n, fmt::format_string<Args...> f, Args&&... args) {
  fail("{}: {}", node_label(n), fmt::format(f, std::forward<Args>(args)...));
}

// SAVE_CHECK for a condition on one node's model data: the message gets the
// node_label prefix.
#define SAVE_NODE_CHECK(cond, node, ...)      \
  do {                                        \
    if (!(cond)) {                            \
      ::save::node_fail((node), __VA_ARGS__); \
    }                                         \
  } while (0)

// The value a Constant node defines (value / value_float(s) / value_int(s)
// attributes). Used by the importer, which turns Constant nodes into
// constants, and by the Constant op itself. Throws Error naming the node.
Tensor constant_node_value(const Node& n);

}  // namespace save
