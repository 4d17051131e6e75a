// The per-value table of an analysis (`save analyze`, its --json, and
// Python's save.analyze): one row per value in execution order (inputs,
// then each step's outputs), then the weights the steps read. One builder,
// so the CLI and the Python package cannot drift apart.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/attribution.hpp"
#include "analysis/range_analysis.hpp"

namespace save {

struct AnalysisRow {
  ValueId value = kNoId;
  std::string name, kind;  // kind: "activation" or "weight"
  double lo = 0, hi = 0;
  bool bounded = false;
  const ValueBits* bits = nullptr;  // null: the value has no bit attribution
  double seconds = 0;               // its interval rule (activations) and its attribution
};

struct AnalysisReport {
  std::vector<AnalysisRow> rows;
  std::vector<const ValueBits*> bits_of;  // by value id
  uint64_t reliable_bytes = 0;            // elements with at least one vulnerable bit
  double seconds = 0;                     // range analysis + attribution
  size_t steps_without_rule = 0;          // steps whose outputs are unbounded
};

AnalysisReport analysis_report(const RangeAnalysis& ra, const Attribution& bits);

// What `save analyze --json` prints.
nlohmann::json analysis_json(const AnalysisReport& r, const RangeAnalysis& ra,
                             const Attribution& bits, const std::string& model,
                             const std::string& model_sha256, double tolerance);

}  // namespace save
