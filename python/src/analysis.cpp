// save.analyze: the offline analysis of `save analyze --json` (range
// analysis + bit attribution) as a dict whose "values" list is the
// per-value table: activations in execution order, then the weights the
// steps read. Optionally writes the protection plan (`save analyze -o`).
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "analysis/analysis_report.hpp"
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
  Attribution bits = attribute_bits(ra, tolerance);
  std::string sha = file_sha256(model);
  if (!plan_out.empty())
    protect::save_plan(protect::plan_from_analysis(ra, tolerance, sha), plan_out);
  return analysis_json(analysis_report(ra, bits), ra, bits, model, sha, tolerance);
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
        return to_python(j);
      },
      pyb::arg("model"), pyb::kw_only(), pyb::arg("input_range") = pyb::none(),
      pyb::arg("tolerance") = 1e-5, pyb::arg("threads") = 0, pyb::arg("plan_out") = pyb::none());
}

}  // namespace save::py
