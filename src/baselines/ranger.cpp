// `--protect ranger` (Chen et al., "A Low-cost Fault Corrector for Deep
// Neural Networks through Range Restriction", DSN'21): the outputs of
// activation functions, and of the layers after them that cannot widen a
// range (max/average pooling, flatten, reshape, concat), are clamped to
// bounds profiled on training data. Ranger keeps one [lo, hi] per layer,
// the min and max the layer produced over the profiling set; a value a flip
// pushed past them is truncated to the bound (a NaN to the lower bound),
// which stops a huge value from propagating. It corrects silently; here
// every step whose output needed clamping counts as one detection (so clean
// inputs that exceed the training range show up as false alarms).
//
// Profiling runs once, in the first prepare(), over opts.profile_samples
// training images (common.hpp run_profile); nothing is cached on disk.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "baselines/modes.hpp"

namespace save::baselines {

namespace {

bool is_range_preserving(std::string_view op) {
  return op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
         op == "GlobalMaxPool" || op == "Flatten" || op == "Reshape" || op == "Concat" ||
         op == "Squeeze" || op == "Unsqueeze" || op == "Transpose";
}

struct Bounds {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
};

// The values Ranger restricts: activation outputs and range-preserving ops
// fed (only) by restricted values.
std::set<ValueId> restricted_values(const Plan& plan) {
  std::set<ValueId> out = activation_values(plan);
  for (const PlannedStep& st : plan.steps()) {
    if (!is_range_preserving(st.def->name) || st.inputs.empty()) continue;
    bool fed = std::all_of(st.inputs.begin(), st.inputs.end(), [&](ValueId v) {
      return v == kNoId || out.count(v) || plan.values()[v].storage == Storage::kConstant;
    });
    if (fed && out.count(st.inputs[0]))
      for (ValueId v : st.outputs)
        if (v != kNoId) out.insert(v);
  }
  return out;
}

// Records the min/max of every restricted float output.
class Profiler : public ExecHooks {
 public:
  std::map<ValueId, Bounds>& bounds;
  explicit Profiler(std::map<ValueId, Bounds>& b) : bounds(b) {}

  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    for (size_t o = 0; o < st.outputs.size(); ++o) {
      auto it = bounds.find(st.outputs[o]);
      if (it == bounds.end() || st.out_views[o].dtype != DType::kF32) continue;
      for (float x : st.out_views[o].values<const float>()) {
        if (std::isnan(x)) continue;
        it->second.lo = std::min(it->second.lo, x);
        it->second.hi = std::max(it->second.hi, x);
      }
    }
    return step + 1;
  }
};

class Ranger : public ProfiledBaseline {
 public:
  using ProfiledBaseline::ProfiledBaseline;
  std::string name() const override { return "ranger"; }

  void profile(Session& session) override {
    // Restricted values are the same ids in every plan (same graph).
    std::map<ValueId, Bounds> bounds;
    for (Plan* plan : session.plans())
      for (ValueId v : restricted_values(*plan)) bounds[v];
    Profiler probe(bounds);
    int64_t n = run_profile(session, opts_, probe);
    for (auto& [v, b] : bounds)
      if (b.lo <= b.hi) bounds_[v] = b;
    if (opts_.log)
      std::fprintf(opts_.log, "ranger: %zu activation values bounded, profiled on %lld images\n",
                   bounds_.size(), static_cast<long long>(n));
  }

  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    int64_t clamped = 0;
    {
      ScopedMs t(counts_.check_ms);
      for (size_t o = 0; o < st.outputs.size(); ++o) {
        auto it = bounds_.find(st.outputs[o]);
        if (it == bounds_.end() || st.out_views[o].dtype != DType::kF32) continue;
        const float lo = it->second.lo, hi = it->second.hi;
        for (float& x : st.out_views[o].values<float>()) {
          float y = std::isnan(x) ? lo : std::min(std::max(x, lo), hi);
          clamped += y != x || std::isnan(x);
          x = y;
        }
      }
    }
    if (clamped > 0) {
      detected(ex, step, "clamp");
      ++counts_.recoveries;  // Ranger's correction is the clamp itself
    }
    return step + 1;
  }

 protected:
  // The bounds are small metadata a real deployment keeps in reliable memory.
  int64_t reliable_bytes() const override {
    return static_cast<int64_t>(bounds_.size() * 2 * sizeof(float));
  }

 private:
  std::map<ValueId, Bounds> bounds_;
};

}  // namespace

std::unique_ptr<protect::Protection> make_ranger(const protect::ProtectionOptions& opts) {
  return std::make_unique<Ranger>(opts);
}

}  // namespace save::baselines
