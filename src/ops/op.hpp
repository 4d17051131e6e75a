// What an operator is to the engine: one OpDef per ONNX op type, holding the
// shape rule, the reference kernel and (optionally) a fast kernel factory.
// Each op family keeps all of these in one file under src/ops/; the list of
// ops is ops/op_list.inc. The interval rule of the analysis stage joins the
// same file later.
//
// Rules see only a narrow context (their node, input infos, constant input
// data), never the graph, so each can be unit-tested alone.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "ir/graph.hpp"

namespace dnnl {
class engine;
class stream;
}  // namespace dnnl

namespace save {

struct IntervalContext;  // ops/interval.hpp

struct TensorInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
};

// Input to a shape rule. Inputs the node omitted have info == nullptr.
struct InferContext {
  const Node& node;
  int64_t opset;
  std::vector<const TensorInfo*> inputs;
  std::vector<const Tensor*> constants;  // non-null where the input is known at plan time
  std::vector<TensorInfo> outputs;       // the rule fills one per node output

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const TensorInfo& input(size_t i) const;
  // The constant data of input i; throws a clear Error when the input is not
  // a plan-time constant (e.g. a Reshape whose shape is computed at run time).
  const Tensor& constant(size_t i) const;
  const Attributes& attrs() const { return node.attrs; }
  void set_output(size_t i, DType dtype, Shape shape);
};

// What a kernel sees at run time. Omitted optional inputs/outputs are views
// with data == nullptr and dtype kUndefined.
struct KernelContext {
  const Node& node;
  std::span<const TensorView> inputs;
  std::span<const TensorView> outputs;
  // Bumped by the executor whenever a hook rewrites a constant (fault
  // injection, repair). A fast kernel that caches a repacked copy of a
  // constant input must repack when this changes.
  uint64_t constants_epoch = 0;
  int64_t opset = 17;  // the model's default-domain opset (after any upgrade)

  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].data != nullptr; }
  const Attributes& attrs() const { return node.attrs; }
};

// A fast kernel prepared for fixed shapes (e.g. a oneDNN primitive).
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(const KernelContext& ctx) = 0;
};

// Handed to fast-kernel factories at plan time.
struct PrepareContext {
  const Node& node;
  int64_t opset;
  std::vector<const TensorInfo*> inputs;
  std::vector<const Tensor*> constants;
  std::vector<const TensorInfo*> outputs;
  dnnl::engine* engine;  // the session's oneDNN CPU engine
  dnnl::stream* stream;
  const Attributes& attrs() const { return node.attrs; }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
};

struct OpDef {
  const char* name;
  // Shape and type rule: fills ctx.outputs; throws Error on invalid input.
  void (*infer)(InferContext& ctx);
  // Reference kernel: plain, obviously-correct C++. The test oracle and the
  // diverse second copy for duplicated computation.
  void (*reference)(const KernelContext& ctx);
  // Fast kernel factory; may return nullptr to decline (then the reference
  // kernel runs). nullptr when the op has no fast kernel.
  std::unique_ptr<Kernel> (*make_fast)(const PrepareContext& ctx) = nullptr;
  // The outputs depend only on input shapes (Shape, Size): the planner folds
  // the node to a constant as soon as shapes are known.
  bool shape_only = false;
  // Interval rule (the analysis stage, ops/interval.hpp): sound per-element
  // output bounds from input bounds. nullptr: the analysis treats the
  // outputs as unbounded (sound, and every bit of them vulnerable).
  void (*interval)(const IntervalContext& ctx) = nullptr;
  // Operator domain: "" is ONNX's default domain; the engine's own fused ops
  // live in "ai.save" (ops/fused.hpp).
  const char* domain = "";
};

// Looks an op up by (domain, type) ("" or "ai.onnx": the default domain);
// nullptr when unsupported.
const OpDef* find_op(std::string_view op_type, std::string_view domain = "");
// All supported ops, in op_list.inc order.
std::span<const OpDef* const> all_ops();

// ---- helpers shared by the rules ----
// Normalises a possibly negative axis against `rank`; throws when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);
// Numpy-style broadcast of two shapes; throws naming the node on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);

}  // namespace save
