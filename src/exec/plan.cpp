#include "exec/plan.hpp"

#include <algorithm>
#include <cstring>

#include "core/limits.hpp"
#include "exec/dnnl_context.hpp"

namespace save {

namespace {
constexpr size_t kAlign = 64;
size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}
}  // namespace

Plan::Plan(const Graph& graph, const std::vector<TensorInfo>& input_infos, const PlanOptions& opts,
           const std::vector<const Tensor*>& input_constants,
           const std::vector<Tensor>* device_constants)
    : graph_(&graph), input_infos_(input_infos) {
  SAVE_CHECK(input_infos.size() == graph.inputs.size(), "the model takes {} inputs, got {}",
             graph.inputs.size(), input_infos.size());
  values_.resize(graph.values.size());
  for (ValueId v = 0; v < graph.values.size(); ++v) {
    const Value& gv = graph.values[v];
    if (gv.constant) {
      // The plan's copy is the device copy; the graph's stays the host's golden one.
      values_[v].constant = device_constants ? (*device_constants)[v] : gv.constant->clone();
      values_[v].golden = *gv.constant;
      values_[v].info = {gv.constant->dtype(), gv.constant->shape()};
      values_[v].storage = Storage::kConstant;
    }
  }
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    PlannedValue& pv = values_[graph.inputs[i]];
    pv.info = input_infos[i];
    pv.storage = Storage::kArena;
    if (i < input_constants.size() && input_constants[i] != nullptr) {
      pv.constant = input_constants[i]->clone();
      pv.golden = pv.constant.clone();
      pv.storage = Storage::kConstant;
      pv.region = Region::kHost;  // an input as handed in
    }
  }
  infer_and_fold(opts);
  drop_dead_steps();
  assign_arena();
  bind_views();
}

void Plan::infer_and_fold(const PlanOptions& opts) {
  const Graph& g = *graph_;
  auto& dn = DnnlContext::get();
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    const OpDef* def = find_op(node.op, node.domain);
    SAVE_CHECK(def != nullptr, "unsupported operator '{}{}{}' (node '{}')", node.domain,
               node.domain.empty() ? "" : ".", node.op, node.name);
    std::vector<const TensorInfo*> in_infos;
    std::vector<const Tensor*> consts;         // golden: for rules and folding
    std::vector<const Tensor*> device_consts;  // what kernels will read
    bool all_const = true;
    for (ValueId v : node.inputs) {
      if (v == kNoId) {
        in_infos.push_back(nullptr);
        consts.push_back(nullptr);
        device_consts.push_back(nullptr);
        continue;
      }
      PlannedValue& pv = values_[v];
      SAVE_CHECK(pv.storage != Storage::kNone, "{}: input '{}' has no value", g.describe(n),
                 g.values[v].name);
      in_infos.push_back(&pv.info);
      bool is_const = pv.storage == Storage::kConstant;
      // Rules and folding read the golden copy: a plan built while device
      // weights carry injected flips must still fold to fault-free values.
      consts.push_back(is_const ? &pv.golden : nullptr);
      device_consts.push_back(is_const ? &pv.constant : nullptr);
      all_const = all_const && is_const;
    }
    InferContext ictx{node, g.opset, in_infos, consts, {}};
    ictx.outputs.resize(node.outputs.size());
    try {
      def->infer(ictx);
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.find(node.name) == std::string::npos) msg = g.describe(n) + ": " + msg;
      throw Error(msg);
    }
    SAVE_CHECK(ictx.outputs.size() >= node.outputs.size(), "{}: shape rule gave {} outputs",
               g.describe(n), ictx.outputs.size());
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == kNoId) continue;
      values_[node.outputs[o]].info = ictx.outputs[o];
      values_[node.outputs[o]].storage = Storage::kArena;
    }

    PlannedStep step;
    step.node = n;
    step.def = def;
    step.inputs = node.inputs;
    step.outputs = node.outputs;

    if (all_const || def->shape_only) {
      // Fold: run the reference kernel now; outputs become constants.
      std::vector<TensorView> iv;
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        ValueId v = node.inputs[i];
        if (v == kNoId) {
          iv.emplace_back();
        } else if (values_[v].storage == Storage::kConstant) {
          iv.push_back(values_[v].golden.view());
        } else {
          iv.push_back(TensorView{values_[v].info.dtype, values_[v].info.shape, nullptr});
        }
      }
      std::vector<Tensor> outs;
      std::vector<TensorView> ov;
      for (size_t o = 0; o < ictx.outputs.size(); ++o) {
        const TensorInfo& info = ictx.outputs[o];
        if (info.dtype == DType::kUndefined) {
          outs.emplace_back();
          ov.emplace_back();
          continue;
        }
        outs.emplace_back(info.dtype, info.shape);
        ov.push_back(outs.back().view());
      }
      KernelContext kctx{node, iv, ov, 0, g.opset};
      def->reference(kctx);
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] == kNoId) continue;
        PlannedValue& pv = values_[node.outputs[o]];
        pv.constant = outs[o];
        pv.golden = outs[o].defined() ? outs[o].clone() : Tensor{};
        pv.folded = true;
        pv.storage = Storage::kConstant;
      }
      continue;
    }
    if (opts.use_fast_kernels && def->make_fast != nullptr) {
      std::vector<const TensorInfo*> out_infos;
      for (const auto& info : ictx.outputs) out_infos.push_back(&info);
      PrepareContext pctx{node,      g.opset,    in_infos,  device_consts,
                          out_infos, &dn.engine, &dn.stream};
      step.fast = def->make_fast(pctx);
    }
    steps_.push_back(std::move(step));
  }
}

void Plan::drop_dead_steps() {
  // Walk backwards: a step is live when one of its outputs is a graph output
  // or read by a live step.
  std::vector<bool> needed(values_.size(), false);
  for (ValueId v : graph_->outputs) needed[v] = true;
  std::vector<PlannedStep> kept;
  for (size_t s = steps_.size(); s-- > 0;) {
    PlannedStep& st = steps_[s];
    bool live = std::any_of(st.outputs.begin(), st.outputs.end(),
                            [&](ValueId v) { return v != kNoId && needed[v]; });
    if (!live) continue;
    for (ValueId v : st.inputs)
      if (v != kNoId) needed[v] = true;
    kept.push_back(std::move(st));
  }
  std::reverse(kept.begin(), kept.end());
  steps_ = std::move(kept);
}

void Plan::assign_arena() {
  const Graph& g = *graph_;
  int64_t end = static_cast<int64_t>(steps_.size());
  for (ValueId v : g.inputs) {
    if (values_[v].storage != Storage::kArena) continue;
    values_[v].first_step = -1;
    values_[v].last_step = -1;
  }
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (ValueId v : steps_[s].outputs) {
      if (v == kNoId) continue;
      values_[v].first_step = values_[v].last_step = static_cast<int64_t>(s);
    }
    for (ValueId v : steps_[s].inputs)
      if (v != kNoId && values_[v].storage == Storage::kArena)
        values_[v].last_step = std::max(values_[v].last_step, static_cast<int64_t>(s));
  }
  for (ValueId v : g.outputs)
    if (values_[v].storage == Storage::kArena) values_[v].last_step = end;

  // Greedy: biggest first, lowest offset whose byte range is free over the
  // value's lifetime.
  std::vector<ValueId> order;
  for (ValueId v = 0; v < values_.size(); ++v) {
    PlannedValue& pv = values_[v];
    if (pv.storage != Storage::kArena) continue;
    bool produced = pv.first_step >= 0 || g.values[v].is_graph_input;
    if (!produced) {
      pv.storage = Storage::kNone;  // output of a dropped step
      continue;
    }
    // Shapes come from the model: checked for overflow and the memory limit
    // before any offset is computed from them.
    const std::string what =
        fmt::format("value '{}' of shape {}", g.values[v].name, shape_str(pv.info.shape));
    pv.nbytes = checked_nbytes(pv.info.shape, pv.info.dtype, what);
    check_memory(pv.nbytes, what);
    order.push_back(v);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](ValueId a, ValueId b) { return values_[a].nbytes > values_[b].nbytes; });
  struct Placed {
    size_t off, size;
    int64_t first, last;
  };
  std::vector<Placed> placed;
  for (ValueId v : order) {
    PlannedValue& pv = values_[v];
    size_t size = align_up(std::max<size_t>(pv.nbytes, 1));
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& p : placed)
      if (!(p.last < pv.first_step || pv.last_step < p.first)) busy.emplace_back(p.off, p.size);
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (auto [boff, bsize] : busy) {
      if (off + size <= boff) break;
      off = std::max(off, boff + bsize);
    }
    pv.offset = off;
    placed.push_back({off, size, pv.first_step, pv.last_step});
    arena_bytes_ = std::max(arena_bytes_, off + size);
  }
  check_memory(arena_bytes_, "the plan's activation arena");
  arena_ = aligned_bytes(arena_bytes_);
}

bool Plan::restore_constant(ValueId v) {
  PlannedValue& pv = values_[v];
  if (pv.storage != Storage::kConstant || !pv.golden.defined()) return false;
  size_t n = pv.golden.nbytes();
  if (std::memcmp(pv.constant.data(), pv.golden.data(), n) == 0) return false;
  std::memcpy(pv.constant.data(), pv.golden.data(), n);
  return true;
}

std::vector<size_t> Plan::readers(ValueId v) const {
  std::vector<size_t> out;
  for (size_t s = 0; s < steps_.size(); ++s)
    if (std::find(steps_[s].inputs.begin(), steps_[s].inputs.end(), v) != steps_[s].inputs.end())
      out.push_back(s);
  return out;
}

TensorView Plan::view(ValueId v) const {
  const PlannedValue& pv = values_[v];
  switch (pv.storage) {
    case Storage::kConstant:
      return pv.constant.view();
    case Storage::kArena:
      return TensorView{pv.info.dtype, pv.info.shape, arena_.get() + pv.offset};
    default:
      return TensorView{};
  }
}

void Plan::bind_views() {
  for (PlannedStep& st : steps_) {
    st.in_views.clear();
    st.out_views.clear();
    for (ValueId v : st.inputs) st.in_views.push_back(v == kNoId ? TensorView{} : view(v));
    for (ValueId v : st.outputs) st.out_views.push_back(v == kNoId ? TensorView{} : view(v));
  }
}

}  // namespace save
