// save.analyze: the offline analysis of `save analyze --json` (range
// analysis + bit attribution) as a dict whose "values" list is the
// per-value table: activations in execution order, then the weights the
// steps read. Optionally writes the protection plan (`save analyze -o`).
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "analysis/attribution.hpp"
#include "analysis/range_analysis.hpp"
#include "bindings.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "import/onnx_import.hpp"
#include "protect/protection_plan.hpp"

namespace save::py {

namespace {

nlohmann::json analyze(const std::string& model,
                       const std::map<std::string, std::pair<double, double>>& ranges,
                       double tolerance, int threads, const std::string& plan_out) {
  RangeOptions opts;
  opts.input_ranges = ranges;
  SessionOptions so;
  so.threads = threads;
  Session session(import_onnx_file(model), so);
  const Graph& g = session.graph();
  for (const auto& [name, range] : ranges) {
    (void)range;
    bool known = false;
    for (ValueId v : g.inputs) known = known || g.values[v].name == name;
    SAVE_CHECK(known, "input_range: the model has no input named '{}'", name);
  }
  RangeAnalysis ra = analyze_ranges(session, opts);
  const Plan& plan = *ra.plan;
  Attribution bits = attribute_bits(ra, tolerance);
  std::string sha = file_sha256(model);
  if (!plan_out.empty())
    protect::save_plan(protect::plan_from_analysis(ra, tolerance, sha), plan_out);
  std::vector<const ValueBits*> bits_of(g.values.size(), nullptr);
  for (const ValueBits& vb : bits.values) bits_of[vb.value] = &vb;

  nlohmann::json values = nlohmann::json::array();
  std::vector<bool> seen(g.values.size(), false);
  auto add = [&](ValueId v, const char* kind, double rule_seconds) {
    if (v == kNoId || seen[v] || !ra.summary[v].present) return;
    seen[v] = true;
    const ValueSummary& s = ra.summary[v];
    nlohmann::json row = {
        {"name", g.values[v].name},
        {"kind", kind},
        {"interval", s.bounded ? nlohmann::json{s.min_lo, s.max_hi} : nlohmann::json(nullptr)}};
    double secs = rule_seconds;
    if (const ValueBits* b = bits_of[v]) {
      row["robust_bits"] = b->robust;
      row["ranging_bits"] = b->ranging;
      row["vulnerable_bits"] = b->vulnerable;
      row["robust_by_operator_bits"] = b->robust_operator;
      row["reliable_bytes"] = b->reliable_bytes();
      secs += b->seconds;
    }
    row["seconds"] = secs;
    values.push_back(row);
  };
  for (ValueId v : g.inputs) add(v, "activation", 0);
  for (size_t i = 0; i < plan.steps().size(); ++i)
    for (ValueId v : plan.steps()[i].outputs) add(v, "activation", ra.step_seconds[i]);
  for (const PlannedStep& st : plan.steps())
    for (ValueId v : st.inputs)
      if (v != kNoId && plan.values()[v].storage == Storage::kConstant) add(v, "weight", 0);
  uint64_t reliable_bytes = 0;
  for (const ValueBits& vb : bits.values) reliable_bytes += vb.reliable_bytes();
  size_t unruled = 0;
  for (uint8_t r : ra.has_rule) unruled += r == 0;

  nlohmann::json j;
  j["model"] = model;
  j["model_sha256"] = sha;
  j["seconds"] = ra.seconds + bits.seconds;
  j["tolerance"] = tolerance;
  j["totals"] = {{"robust_bits", bits.robust},
                 {"ranging_bits", bits.ranging},
                 {"vulnerable_bits", bits.vulnerable},
                 {"robust_by_operator_bits", bits.robust_operator},
                 {"reliable_bytes", reliable_bytes}};
  j["inputs"] = nlohmann::json::array();
  for (const auto& in : ra.inputs)
    j["inputs"].push_back({{"name", in.name},
                           {"interval", {in.lo, in.hi}},
                           {"default", in.defaulted},
                           {"bounded", in.bounded}});
  j["values"] = values;
  j["steps_without_interval_rule"] = unruled;
  return j;
}

}  // namespace

void add_analysis(pyb::module_& m) {
  m.def(
      "analyze",
      [](const std::string& model, const pyb::object& input_range, double tolerance, int threads,
         const pyb::object& plan_out) {
        auto ranges = input_ranges(input_range);
        std::string plan = plan_out.is_none() ? "" : std::string(pyb::str(plan_out));
        nlohmann::json j;
        {
          pyb::gil_scoped_release nogil;
          j = analyze(model, ranges, tolerance, threads, plan);
        }
        return pyb::module_::import("json").attr("loads")(j.dump());
      },
      pyb::arg("model"), pyb::kw_only(), pyb::arg("input_range") = pyb::none(),
      pyb::arg("tolerance") = 1e-5, pyb::arg("threads") = 0, pyb::arg("plan_out") = pyb::none());
}

}  // namespace save::py
