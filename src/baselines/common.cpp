#include "baselines/common.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "ops/fused.hpp"

namespace save::baselines {

void HookBaseline::begin_trial(const FaultStatus* faults) {
  faults_ = faults;
  counts_ = {};
}

protect::ProtectionCounts HookBaseline::end_trial() {
  protect::ProtectionCounts c = counts_;
  c.reliable_bytes = reliable_bytes();
  return c;
}

void HookBaseline::detected(Execution& ex, size_t step, const char* check) {
  ++counts_.detections;
  // Without an injector (save run) nothing was flipped on purpose: a
  // detection there is a false alarm too.
  if (faults_ == nullptr || !faults_->any_flip_applied()) ++counts_.false_alarms;
  const Plan& plan = ex.plan();
  const std::string& node = plan.graph().nodes[plan.steps()[step].node].name;
  ++counts_.by_site[node + "/" + check];
}

size_t HookBaseline::after_check(Execution& ex, size_t step, bool ok, const char* check,
                                 int max_retries) {
  if (ok) {
    if (retries_ > 0) ++counts_.recoveries;  // the re-run passed
    retries_ = 0;
    return step + 1;
  }
  detected(ex, step, check);
  if (retries_ >= max_retries) {
    ++counts_.uncorrectable;
    retries_ = 0;
    return step + 1;
  }
  ++retries_;
  ++counts_.restarts;
  ++counts_.reexecuted_steps;
  return step;
}

bool is_activation_op(std::string_view op) {
  static constexpr std::array<std::string_view, 15> kOps = {
      "Relu",        "LeakyRelu", "PRelu", "Elu",      "Selu",     "Celu", "Gelu", "Sigmoid",
      "HardSigmoid", "HardSwish", "Tanh",  "Softplus", "Softsign", "Clip", "Mish"};
  return std::find(kOps.begin(), kOps.end(), op) != kOps.end();
}

namespace {

// The single step reading `v` whose op is `op`, or -1.
int64_t sole_reader(const Plan& plan, ValueId v, std::string_view op) {
  std::vector<size_t> r = plan.readers(v);
  if (r.size() != 1) return -1;
  const PlannedStep& st = plan.steps()[r[0]];
  return st.def->name == op ? static_cast<int64_t>(r[0]) : -1;
}

}  // namespace

std::set<ValueId> activation_values(const Plan& plan) {
  std::set<ValueId> out;
  const auto& steps = plan.steps();
  for (size_t s = 0; s < steps.size(); ++s) {
    const PlannedStep& st = steps[s];
    std::string_view op = st.def->name;
    // A fused node whose chain ends in an activation (ops/fused.hpp) writes
    // that activation's output.
    bool fused_activation = false;
    if (std::string_view(st.def->domain) == kSaveDomain) {
      std::vector<PostOp> ops = get_post_ops(plan.graph().nodes[st.node]);
      fused_activation = !ops.empty() && !ops.back().binary();
    }
    if (is_activation_op(op) || fused_activation) {
      for (ValueId v : st.outputs)
        if (v != kNoId) out.insert(v);
      continue;
    }
    if (op != "Erf" || st.outputs.empty()) continue;
    // Erf -> Add(1) -> Mul(x) [-> Mul(0.5)]: the GELU output is the last Mul.
    int64_t add = sole_reader(plan, st.outputs[0], "Add");
    if (add < 0) continue;
    int64_t mul = sole_reader(plan, steps[add].outputs[0], "Mul");
    if (mul < 0) continue;
    int64_t half = sole_reader(plan, steps[mul].outputs[0], "Mul");
    out.insert(steps[half >= 0 ? half : mul].outputs[0]);
  }
  return out;
}

int64_t run_profile(Session& session, const protect::ProtectionOptions& opts, ExecHooks& probe) {
  std::string spec =
      opts.profile_data == "fashion-mnist" ? "fashion-mnist-train" : opts.profile_data;
  SAVE_CHECK(!spec.empty(), "this mode profiles activations on training data: give profile data");
  SAVE_CHECK(opts.batch > 0, "profiling batch must be positive");
  const Dataset data = opts.profile_set ? *opts.profile_set : load_dataset(spec);
  int64_t n = std::min(data.size(), opts.profile_samples);
  // Whole batches only, so profiling builds no plan for a batch shape the
  // run will not use; at least one (smaller) batch when there are few images.
  int64_t batch = std::min(opts.batch, n);
  SAVE_CHECK(batch > 0, "no profiling images in '{}'", spec);
  n = n / batch * batch;
  session.restore_constants();
  ScopedHooks hooked(session, &probe);
  for (int64_t b = 0; b < n; b += batch) {
    Plan& plan = session.load_inputs(batch_of(data, b, b + batch));
    session.execute(plan);
  }
  return n;
}

}  // namespace save::baselines
