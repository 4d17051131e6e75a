#include "import/onnx_import.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "import/tensor_proto.hpp"
#include "import/validate.hpp"

namespace save {

namespace {

std::string read_file(const std::string& path, const char* what) {
  std::error_code ec;
  SAVE_CHECK(!std::filesystem::is_directory(path, ec), "{} '{}' is a directory, not a file", what,
             path);
  std::ifstream f(path, std::ios::binary);
  SAVE_CHECK(f.good(), "cannot open {} '{}': {}", what, path, std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void set_type(Value& v, const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return;
  const auto& tt = type.tensor_type();
  if (tt.elem_type() != 0) v.dtype = static_cast<DType>(tt.elem_type());
  if (tt.has_shape()) {
    v.has_shape = true;
    v.shape.clear();
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) dim.size = d.dim_value();
      if (d.has_dim_param()) dim.symbol = d.dim_param();
      v.shape.push_back(dim);
    }
  }
}

int64_t default_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  return 0;
}

// Converts one graph: the model's, or a subgraph (parent != nullptr) whose
// reads of enclosing values become capture inputs (ir/graph.hpp: Subgraph).
class GraphBuilder {
 public:
  GraphBuilder(std::string label, int64_t opset, GraphBuilder* parent)
      : label_(std::move(label)), parent_(parent) {
    graph_.opset = opset;
  }

  Graph build(const onnx::GraphProto& g);
  // `label` names the graph in messages: the model file, quoted, or
  // "node 'n' (If) subgraph 'then_branch'".
  // The captured outer values, in the order of the subgraph's capture inputs.
  const std::vector<std::string>& captures() const { return captures_; }

 private:
  ValueId value_id(const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    ValueId id = static_cast<ValueId>(graph_.values.size());
    graph_.values.push_back(Value{});
    graph_.values.back().name = name;
    ids_.emplace(name, id);
    return id;
  }
  // Defined here or (so far) in an enclosing graph.
  bool visible(const std::string& name) const {
    return ids_.count(name) != 0 || (parent_ != nullptr && parent_->visible(name));
  }
  // The value `name` reads: local, or a new capture input; kNoId when
  // nothing in scope defines it.
  ValueId resolve(const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    if (parent_ == nullptr || !parent_->visible(name)) return kNoId;
    ValueId id = value_id(name);
    graph_.values[id].is_graph_input = true;
    captures_.push_back(name);
    capture_ids_.push_back(id);
    return id;
  }
  AttrValue convert_attr(const onnx::AttributeProto& a, Node& n, size_t formal_inputs);

  std::string label_;
  GraphBuilder* parent_;
  Graph graph_;
  std::map<std::string, ValueId> ids_;
  std::vector<std::string> captures_;
  std::vector<ValueId> capture_ids_;
};

AttrValue GraphBuilder::convert_attr(const onnx::AttributeProto& a, Node& n, size_t formal_inputs) {
  using A = onnx::AttributeProto;
  const std::string where = node_label(n);
  switch (a.type()) {
    case A::INT:
      return a.i();
    case A::FLOAT:
      return a.f();
    case A::STRING:
      return a.s();
    case A::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::TENSOR:
      return tensor_from_proto(a.t(), where + " attribute '" + a.name() + "'");
    case A::GRAPH: {
      GraphBuilder child(fmt::format("{} subgraph '{}'", where, a.name()), graph_.opset, this);
      auto sg = std::make_shared<Subgraph>();
      sg->graph = child.build(a.g());
      sg->num_formal = static_cast<size_t>(a.g().input_size());
      // Each outer value the subgraph reads becomes an input of this node
      // (once, whichever of its subgraphs reads it).
      for (const std::string& name : child.captures()) {
        ValueId v = resolve(name);
        SAVE_CHECK(v != kNoId, "{}: value '{}' is not defined", sg->graph.producer_name, name);
        size_t slot = formal_inputs;
        while (slot < n.inputs.size() && n.inputs[slot] != v) ++slot;
        if (slot == n.inputs.size()) n.inputs.push_back(v);
        sg->capture_slots.push_back(slot);
      }
      return std::shared_ptr<const Subgraph>(std::move(sg));
    }
    default:
      fail(
          "{}: attribute '{}' has a kind the engine does not support (lists of graphs, sparse "
          "tensors, type protos)",
          where, a.name());
  }
}

Graph GraphBuilder::build(const onnx::GraphProto& g) {
  const std::string& label = label_;
  graph_.producer_name = label;  // overwritten by the caller for the model's graph
  for (const auto& init : g.initializer()) {
    ValueId id = value_id(init.name());
    graph_.values[id].constant = tensor_from_proto(init, "initializer '" + init.name() + "'");
    graph_.values[id].dtype = graph_.values[id].constant->dtype();
  }
  for (const auto& in : g.input()) {
    ValueId id = value_id(in.name());
    Value& v = graph_.values[id];
    if (v.constant && parent_ == nullptr) continue;  // an initializer listed as input: a weight
    SAVE_CHECK(in.type().has_tensor_type() || (parent_ != nullptr && !in.has_type()),
               "{}: input '{}' is not a tensor (sequence, map and optional types are not "
               "supported)",
               label, in.name());
    set_type(v, in.type());
    SAVE_CHECK(v.dtype == DType::kUndefined || dtype_supported(static_cast<int32_t>(v.dtype)),
               "{}: input '{}' has element type code {}, which the engine does not support", label,
               in.name(), static_cast<int>(v.dtype));
    v.is_graph_input = true;
    v.constant.reset();
    graph_.inputs.push_back(id);
  }
  for (const auto& vi : g.value_info()) set_type(graph_.values[value_id(vi.name())], vi.type());

  for (int i = 0; i < g.node_size(); ++i) {
    const auto& np = g.node(i);
    Node n;
    n.op = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? fmt::format("{}_{}", n.op, i) : np.name();
    std::string where = node_label(n);
    SAVE_CHECK(n.domain.empty(), "{}: operator domain '{}' is not supported", where, n.domain);
    for (const auto& in : np.input()) {
      if (in.empty()) {
        n.inputs.push_back(kNoId);
        continue;
      }
      ValueId v = resolve(in);
      SAVE_CHECK(v != kNoId, "{}: input '{}' is not produced by any node, input or initializer{}",
                 where, in, parent_ ? " of this subgraph or an enclosing graph" : "");
      n.inputs.push_back(v);
    }
    const size_t formal = n.inputs.size();
    for (const auto& a : np.attribute()) n.attrs.set(a.name(), convert_attr(a, n, formal));
    for (const auto& out : np.output()) n.outputs.push_back(out.empty() ? kNoId : value_id(out));
    if (n.op == "Constant" && n.outputs.size() == 1 && n.outputs[0] != kNoId) {
      // Weights given as Constant nodes become constants like initializers.
      Value& v = graph_.values[n.outputs[0]];
      v.constant = constant_node_value(n);
      v.dtype = v.constant->dtype();
      continue;
    }
    graph_.nodes.push_back(std::move(n));
  }
  for (const auto& out : g.output()) {
    // A subgraph may return an outer value as it is.
    ValueId id = resolve(out.name());
    SAVE_CHECK(id != kNoId, "{}: graph output '{}' is never produced", label, out.name());
    set_type(graph_.values[id], out.type());
    graph_.values[id].is_graph_output = true;
    graph_.outputs.push_back(id);
  }
  for (ValueId id : capture_ids_) graph_.inputs.push_back(id);
  graph_.link();
  return std::move(graph_);
}

Graph convert(const onnx::ModelProto& model, const std::string& label) {
  SAVE_CHECK(model.has_graph(), "'{}' holds no graph", label);
  GraphBuilder b("'" + label + "'", default_opset(model), nullptr);
  Graph graph = b.build(model.graph());
  graph.producer_name = model.producer_name();
  return graph;
}

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& label,
                        const ImportOptions& opts) {
  onnx::ModelProto model;
  SAVE_CHECK(!bytes.empty(), "'{}' is empty, not an ONNX model", label);
  SAVE_CHECK(model.ParseFromString(bytes),
             "'{}' is not a valid ONNX model (protobuf parsing failed: corrupt or truncated file)",
             label);
  SAVE_CHECK(model.has_graph() && model.graph().node_size() > 0,
             "'{}' is not a valid ONNX model (no graph or no nodes)", label);
  int64_t opset = default_opset(model);
  SAVE_CHECK(opset > 0, "'{}' does not import the default ONNX opset", label);
  // Before the version converter: it trusts the graph.
  validate_model(model, label, opset);
  // Scan before opset 9 has a batch axis; ONNX's Scan 8 -> 9 adapter drops
  // it from the graph's declared inputs, changing what the model takes.
  // Such a model keeps its opset (ops/control_flow.cpp runs Scan 8).
  bool scan8 = false;
  for (const auto& n : model.graph().node()) scan8 = scan8 || (opset < 9 && n.op_type() == "Scan");
  if (opset < opts.upgrade_below_opset && !scan8) {
    try {
      model = onnx::version_conversion::ConvertVersion(model,
                                                       static_cast<int>(opts.upgrade_below_opset));
    } catch (const std::exception&) {
      // The converter lacks an adapter for some op: keep the original opset;
      // the op rules accept the old attribute forms.
    }
  }
  return convert(model, label);
}

Graph import_onnx_file(const std::string& path, const ImportOptions& opts) {
  return import_onnx_bytes(read_file(path, "model file"), path, opts);
}

Tensor load_tensor_pb(const std::string& path) {
  onnx::TensorProto t;
  std::string bytes = read_file(path, "tensor file");
  SAVE_CHECK(t.ParseFromString(bytes), "'{}' is not a serialized ONNX TensorProto", path);
  return tensor_from_proto(t, "'" + path + "'");
}

}  // namespace save
