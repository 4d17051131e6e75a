// Planning: the graph specialised to concrete input shapes. Every value gets
// a concrete shape; nodes whose inputs are all known are folded into
// constants (this folds Shape/Gather/Unsqueeze/Concat/Reshape chains); dead
// nodes are dropped; activations get offsets in one arena by lifetime; each
// remaining node gets its kernel (fast where available, else reference).
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.hpp"
#include "ir/graph.hpp"
#include "ops/op.hpp"

namespace save {

struct PlanOptions {
  bool use_fast_kernels = true;
};

// The memory model (docs/ARCHITECTURE.md, ../EVALUATION.md): every value the
// executor touches lives in one region. Only `device` memory takes bit
// flips; `reliable` is a scarce budget that never flips; `host` holds the
// golden copy of the model and the inputs as handed in.
enum class Region : uint8_t { kDevice, kReliable, kHost };

// Where a value's bytes live during a run.
enum class Storage : uint8_t {
  kNone,      // omitted / never materialised
  kConstant,  // a weight or folded value: device copy owned by the plan
  kArena,     // activation or input: a slice of the run arena
};

struct PlannedValue {
  TensorInfo info;
  Storage storage = Storage::kNone;
  Tensor constant;      // kConstant: the device copy the kernels read
  Tensor golden;        // kConstant: the host copy, never modified
  bool folded = false;  // kConstant computed at plan time (not a graph constant)
  Region region = Region::kDevice;
  size_t offset = 0;  // kArena: byte offset in the arena
  size_t nbytes = 0;
  int64_t first_step = -1;  // kArena: step that writes it (-1: a graph input)
  int64_t last_step = -1;   // kArena: last step that reads it
};

struct PlannedStep {
  NodeId node = kNoId;
  const OpDef* def = nullptr;
  std::unique_ptr<Kernel> fast;  // null: the reference kernel runs
  std::vector<ValueId> inputs;   // kNoId for omitted
  std::vector<ValueId> outputs;
  std::vector<TensorView> in_views;  // bound to the arena / constants
  std::vector<TensorView> out_views;
};

class Plan {
 public:
  // `input_infos` follows graph.inputs. `input_constants`, when given, holds
  // for each input either nullptr or its value, fixed for this plan (small
  // integer inputs such as axes or target shapes: the plan specialises to
  // them). Throws Error naming the node on a shape mismatch or an
  // unsupported op.
  // `device_constants`, when given, holds the device copy of each graph
  // constant (by value id), shared by all plans of a session so that a flip
  // or a repair is seen whatever the batch size; otherwise the plan clones.
  Plan(const Graph& graph, const std::vector<TensorInfo>& input_infos, const PlanOptions& opts,
       const std::vector<const Tensor*>& input_constants = {},
       const std::vector<Tensor>* device_constants = nullptr);

  const Graph& graph() const { return *graph_; }
  const std::vector<PlannedValue>& values() const { return values_; }
  std::vector<PlannedValue>& values() { return values_; }
  const std::vector<PlannedStep>& steps() const { return steps_; }
  std::vector<PlannedStep>& steps() { return steps_; }
  size_t arena_bytes() const { return arena_bytes_; }
  std::byte* arena() { return arena_.get(); }
  // A view of any materialised value (constant or arena slice).
  TensorView view(ValueId v) const;
  const std::vector<TensorInfo>& input_infos() const { return input_infos_; }
  // Copies the golden (host) bytes of constant `v` over its device copy.
  // Returns true when they differed. Callers must then say so
  // (Execution::constant_changed(v)) so the fast kernels reading it repack.
  bool restore_constant(ValueId v);
  // Steps that read value v (ascending).
  std::vector<size_t> readers(ValueId v) const;

 private:
  void infer_and_fold(const PlanOptions& opts);
  void drop_dead_steps();
  void assign_arena();
  void bind_views();

  const Graph* graph_;
  std::vector<TensorInfo> input_infos_;
  std::vector<PlannedValue> values_;
  std::vector<PlannedStep> steps_;
  size_t arena_bytes_ = 0;
  std::shared_ptr<std::byte[]> arena_;
};

}  // namespace save
