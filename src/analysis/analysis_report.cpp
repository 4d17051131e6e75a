#include "analysis/analysis_report.hpp"

namespace save {

AnalysisReport analysis_report(const RangeAnalysis& ra, const Attribution& bits) {
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  AnalysisReport r;
  r.bits_of.assign(g.values.size(), nullptr);
  for (const ValueBits& vb : bits.values) r.bits_of[vb.value] = &vb;
  std::vector<bool> seen(g.values.size(), false);
  auto add = [&](ValueId v, const char* kind, double rule_seconds) {
    if (v == kNoId || seen[v] || !ra.summary[v].present) return;
    seen[v] = true;
    const ValueSummary& s = ra.summary[v];
    const ValueBits* b = r.bits_of[v];
    r.rows.push_back({v, g.values[v].name, kind, s.min_lo, s.max_hi, s.bounded, b,
                      rule_seconds + (b ? b->seconds : 0)});
  };
  for (ValueId v : g.inputs) add(v, "activation", 0);
  for (size_t i = 0; i < plan.steps().size(); ++i)
    for (ValueId v : plan.steps()[i].outputs) add(v, "activation", ra.step_seconds[i]);
  for (const PlannedStep& st : plan.steps())
    for (ValueId v : st.inputs)
      if (v != kNoId && plan.values()[v].storage == Storage::kConstant) add(v, "weight", 0);
  for (const ValueBits& vb : bits.values) r.reliable_bytes += vb.reliable_bytes();
  r.seconds = ra.seconds + bits.seconds;
  for (uint8_t has : ra.has_rule) r.steps_without_rule += has == 0;
  return r;
}

nlohmann::json analysis_json(const AnalysisReport& r, const RangeAnalysis& ra,
                             const Attribution& bits, const std::string& model,
                             const std::string& model_sha256, double tolerance) {
  nlohmann::json j;
  j["model"] = model;
  j["model_sha256"] = model_sha256;
  j["seconds"] = r.seconds;
  j["tolerance"] = tolerance;
  j["totals"] = {{"robust_bits", bits.robust},
                 {"ranging_bits", bits.ranging},
                 {"vulnerable_bits", bits.vulnerable},
                 {"robust_by_operator_bits", bits.robust_operator},
                 {"reliable_bytes", r.reliable_bytes}};
  j["inputs"] = nlohmann::json::array();
  for (size_t i = 0; i < ra.inputs.size(); ++i) {
    const InputRange& in = ra.inputs[i];
    j["inputs"].push_back({{"name", in.name},
                           {"interval", {in.lo, in.hi}},
                           {"default", in.defaulted},
                           {"bounded", in.bounded},
                           {"shape", ra.input_shapes.at(i)}});
  }
  j["any_batch"] = ra.any_batch;
  nlohmann::json values = nlohmann::json::array();
  for (const AnalysisRow& row : r.rows) {
    nlohmann::json iv = row.bounded ? nlohmann::json{row.lo, row.hi} : nlohmann::json(nullptr);
    nlohmann::json o = {{"name", row.name}, {"kind", row.kind}, {"interval", iv}};
    if (row.bits) {
      o["robust_bits"] = row.bits->robust;
      o["ranging_bits"] = row.bits->ranging;
      o["vulnerable_bits"] = row.bits->vulnerable;
      o["robust_by_operator_bits"] = row.bits->robust_operator;
      o["reliable_bytes"] = row.bits->reliable_bytes();
    }
    o["seconds"] = row.seconds;
    values.push_back(std::move(o));
  }
  j["values"] = std::move(values);
  j["steps_without_interval_rule"] = r.steps_without_rule;
  const SymbolicStats& sy = ra.symbolic;
  j["symbolic"] = {{"on", sy.on},
                   {"off_reason", sy.off_reason},
                   {"generators", sy.generators},
                   {"values_with_form", sy.values_with_form},
                   {"values_tightened", sy.values_tightened},
                   {"peak_bytes", sy.peak_bytes},
                   {"seconds", sy.seconds}};
  return j;
}

}  // namespace save
