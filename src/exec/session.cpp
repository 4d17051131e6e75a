#include "exec/session.hpp"

#include <omp.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "exec/step_runner.hpp"

namespace save {

Session::Session(Graph graph, SessionOptions opts) : graph_(std::move(graph)), opts_(opts) {
  if (opts_.threads > 0) omp_set_num_threads(opts_.threads);
  // The reference kernels run the graph as written (the oracle).
  if (opts_.plan.use_fast_kernels) run_passes(graph_, opts_.passes);
  device_constants_.resize(graph_.values.size());
  for (ValueId v = 0; v < graph_.values.size(); ++v)
    if (graph_.values[v].constant) device_constants_[v] = graph_.values[v].constant->clone();
}

Session::~Session() = default;

bool is_plan_time_input(const Tensor& t) {
  return t.rank() == 0 || (t.rank() == 1 && t.numel() <= 8);
}

Plan& Session::plan_for(const std::vector<Tensor>& inputs) {
  std::vector<std::vector<int64_t>> key;
  std::vector<TensorInfo> infos;
  std::vector<const Tensor*> consts;
  for (const Tensor& t : inputs) {
    key.push_back(t.shape());
    infos.push_back({t.dtype(), t.shape()});
    bool fixed = is_plan_time_input(t);
    consts.push_back(fixed ? &t : nullptr);
    key.push_back(fixed ? t.to_int64() : std::vector<int64_t>{});
  }
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  auto plan = std::make_unique<Plan>(graph_, infos, opts_.plan, consts, &device_constants_);
  Plan& ref = *plan;
  plans_.emplace(std::move(key), std::move(plan));
  return ref;
}

void Session::validate_inputs(const std::vector<Tensor>& inputs) const {
  SAVE_CHECK(inputs.size() == graph_.inputs.size(), "the model takes {} inputs, got {}",
             graph_.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = graph_.values[graph_.inputs[i]];
    const Tensor& t = inputs[i];
    SAVE_CHECK(t.defined(), "input '{}' is missing", v.name);
    SAVE_CHECK(v.dtype == DType::kUndefined || v.dtype == t.dtype(),
               "input '{}' must be {}, got {}", v.name, dtype_name(v.dtype), dtype_name(t.dtype()));
    if (v.has_shape) {
      bool ok = v.shape.size() == t.rank();
      for (size_t d = 0; ok && d < v.shape.size(); ++d)
        ok = !v.shape[d].known() || v.shape[d].size == t.shape()[d];
      if (!ok) {
        std::string want = "[";
        for (size_t d = 0; d < v.shape.size(); ++d)
          want += (d ? ", " : "") + (v.shape[d].known()
                                         ? std::to_string(v.shape[d].size)
                                         : (v.shape[d].symbol.empty() ? "?" : v.shape[d].symbol));
        want += "]";
        fail("input '{}' must have shape {}, got {}", v.name, want, shape_str(t.shape()));
      }
    }
    if (opts_.reject_nonfinite_inputs && is_float(t.dtype())) {
      bool finite = true;
      if (t.dtype() == DType::kF32) {
        const float* p = t.ptr<float>();
        int64_t n = t.numel();
        // Vectorisable: accumulate a flag instead of branching per element.
        int bad = 0;
#pragma omp simd reduction(| : bad)
        for (int64_t k = 0; k < n; ++k) bad |= !std::isfinite(p[k]);
        finite = bad == 0;
      } else {
        for (double x : t.to_double()) finite = finite && std::isfinite(x);
      }
      SAVE_CHECK(finite, "input '{}' contains NaN or Inf", v.name);
    }
  }
}

void Execution::run_step(size_t step) {
  PlannedStep& st = plan_.steps()[step];
  run_step_into(plan_, st, st.in_views, st.out_views, constants_epoch(step));
}

void execute_steps(Plan& plan, ExecHooks* hooks, Execution& ex, size_t first) {
  auto& steps = plan.steps();
  size_t s = first;
  while (s < steps.size()) {
    if (!hooks) {
      ex.run_step(s++);
      continue;
    }
    hooks->before_step(ex, s);
    try {
      ex.run_step(s);
    } catch (const Error&) {
      size_t next = s;
      if (hooks->on_kernel_error(ex, s, next)) {
        s = next;
        continue;
      }
      throw;
    }
    hooks->after_kernel(ex, s);
    s = hooks->after_step(ex, s);
  }
}

bool Execution::reload_input(size_t i) {
  if (!host_inputs_ || i >= host_inputs_->size()) return false;
  ValueId v = plan_.graph().inputs[i];
  if (plan_.values()[v].storage != Storage::kArena) return true;
  const Tensor& t = (*host_inputs_)[i];
  TensorView dst = plan_.view(v);
  if (dst.data != nullptr && t.nbytes() > 0) std::memcpy(dst.data, t.data(), t.nbytes());
  return true;
}

Plan& Session::load_inputs(const std::vector<Tensor>& inputs) {
  validate_inputs(inputs);
  Plan& plan = plan_for(inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (plan.values()[graph_.inputs[i]].storage != Storage::kArena) continue;
    TensorView dst = plan.view(graph_.inputs[i]);
    if (dst.data != nullptr && inputs[i].nbytes() > 0)
      std::memcpy(dst.data, inputs[i].data(), inputs[i].nbytes());
  }
  host_inputs_ = inputs;
  host_inputs_plan_ = &plan;
  return plan;
}

void Session::execute(Plan& plan, size_t first_step) {
  Execution ex(plan, versions_, host_inputs_plan_ == &plan ? &host_inputs_ : nullptr);
  if (hooks_) hooks_->on_run_begin(ex);
  execute_steps(plan, hooks_, ex, first_step);
  if (hooks_) hooks_->on_run_end(ex);
}

std::vector<Tensor> Session::collect_outputs(const Plan& plan) const {
  std::vector<Tensor> outs;
  for (ValueId v : graph_.outputs) {
    TensorView src = plan.view(v);
    Tensor t(src.dtype, Shape(src.shape.begin(), src.shape.end()));
    if (t.nbytes() > 0) std::memcpy(t.data(), src.data, t.nbytes());
    outs.push_back(std::move(t));
  }
  return outs;
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) {
  Plan& plan = load_inputs(inputs);
  execute(plan);
  return collect_outputs(plan);
}

size_t Session::restore_constants() {
  size_t repaired = 0;
  for (auto& [key, plan] : plans_) {
    (void)key;
    for (ValueId v = 0; v < plan->values().size(); ++v)
      if (plan->restore_constant(v)) {
        ++repaired;
        constant_changed(v);  // only the kernels reading v repack
      }
  }
  return repaired;
}

std::vector<Plan*> Session::plans() {
  std::vector<Plan*> out;
  for (auto& [key, plan] : plans_) out.push_back(plan.get());
  return out;
}

std::vector<Tensor> Session::run_named(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> ordered;
  for (ValueId v : graph_.inputs) {
    const std::string& name = graph_.values[v].name;
    auto it = inputs.find(name);
    SAVE_CHECK(it != inputs.end(), "input '{}' of the model is not bound", name);
    ordered.push_back(it->second);
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (ValueId v : graph_.inputs) known = known || graph_.values[v].name == name;
    SAVE_CHECK(known, "the model has no input named '{}'", name);
  }
  return run(ordered);
}

}  // namespace save
