// `save analyze MODEL`: the one-time offline analysis. This first cut runs
// the range analysis (per-element intervals from the input constraint) and
// prints a per-value table; bit attribution and the plan file follow.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "analysis/attribution.hpp"
#include "analysis/range_analysis.hpp"
#include "cli/commands.hpp"
#include "core/hash.hpp"
#include "import/onnx_import.hpp"

namespace save::cli {

void add_analyze_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string model;
    std::vector<std::string> ranges;
    bool json = false;
    int threads = 0;
    double tolerance = 1e-5;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("analyze", "Range analysis of a model (SAVE selection stage)");
  c->add_option("model", args->model, "ONNX model file")->required();
  c->add_option("--input-range", args->ranges,
                "NAME=LO:HI constraint on a model input (repeatable; default [0, 1] for float "
                "inputs)");
  c->add_option("--threads", args->threads, "Threads (default: all cores)");
  c->add_option("--tolerance", args->tolerance,
                "Largest harmless change of a value (robust bits), as in SAVE")
      ->capture_default_str();
  c->add_flag("--json", args->json, "Print JSON instead of a table");
  c->callback([args, &exit_code] {
    RangeOptions opts;
    for (const auto& r : args->ranges) opts.input_ranges.insert(parse_input_range(r));
    SessionOptions so;
    so.threads = args->threads;
    Session session(import_onnx_file(args->model), so);
    const Graph& g = session.graph();
    for (const auto& [name, range] : opts.input_ranges) {
      (void)range;
      bool known = false;
      for (ValueId v : g.inputs) known = known || g.values[v].name == name;
      SAVE_CHECK(known, "--input-range: the model has no input named '{}'", name);
    }
    RangeAnalysis ra = analyze_ranges(session, opts);
    const Plan& plan = *ra.plan;
    Attribution bits = attribute_bits(ra, args->tolerance);
    std::vector<const ValueBits*> bits_of(g.values.size(), nullptr);
    for (const ValueBits& vb : bits.values) bits_of[vb.value] = &vb;

    nlohmann::json values = nlohmann::json::array();
    struct Row {
      std::string name, kind;
      double lo, hi;
      bool bounded;
      const ValueBits* bits;
    };
    std::vector<Row> rows;
    // Activations in execution order, then the weights the steps read.
    std::vector<bool> seen(g.values.size(), false);
    auto add = [&](ValueId v, const char* kind) {
      if (v == kNoId || seen[v] || !ra.summary[v].present) return;
      seen[v] = true;
      const ValueSummary& s = ra.summary[v];
      rows.push_back({g.values[v].name, kind, s.min_lo, s.max_hi, s.bounded, bits_of[v]});
    };
    for (ValueId v : g.inputs) add(v, "activation");
    for (const PlannedStep& st : plan.steps())
      for (ValueId v : st.outputs) add(v, "activation");
    for (const PlannedStep& st : plan.steps())
      for (ValueId v : st.inputs)
        if (v != kNoId && plan.values()[v].storage == Storage::kConstant) add(v, "weight");
    size_t unruled = 0;
    for (uint8_t r : ra.has_rule) unruled += r == 0;

    if (args->json) {
      nlohmann::json j;
      j["model"] = args->model;
      j["model_sha256"] = file_sha256(args->model);
      j["seconds"] = ra.seconds + bits.seconds;
      j["tolerance"] = args->tolerance;
      j["totals"] = {{"robust_bits", bits.robust},
                     {"ranging_bits", bits.ranging},
                     {"vulnerable_bits", bits.vulnerable}};
      j["inputs"] = nlohmann::json::array();
      for (const auto& in : ra.inputs)
        j["inputs"].push_back({{"name", in.name},
                               {"interval", {in.lo, in.hi}},
                               {"default", in.defaulted},
                               {"bounded", in.bounded}});
      for (const Row& r : rows) {
        nlohmann::json iv = r.bounded ? nlohmann::json{r.lo, r.hi} : nlohmann::json(nullptr);
        nlohmann::json row = {{"name", r.name}, {"kind", r.kind}, {"interval", iv}};
        if (r.bits) {
          row["robust_bits"] = r.bits->robust;
          row["ranging_bits"] = r.bits->ranging;
          row["vulnerable_bits"] = r.bits->vulnerable;
        }
        values.push_back(row);
      }
      j["values"] = values;
      j["steps_without_interval_rule"] = unruled;
      fmt::print("{}\n", j.dump(2));
    } else {
      for (const auto& in : ra.inputs)
        fmt::print("input {:<24} [{}, {}]{}\n", in.name, in.lo, in.hi,
                   in.defaulted ? "  (default constraint; set with --input-range)" : "");
      fmt::print("\n{:<48} {:<10} {:>14} {:>14} {:>8} {:>8} {:>8}\n", "value", "kind", "lo", "hi",
                 "robust", "ranging", "vulnr");
      for (const Row& r : rows) {
        std::string name = r.name.size() > 47 ? "…" + r.name.substr(r.name.size() - 46) : r.name;
        std::string lo = r.bounded ? fmt::format("{:.6g}", r.lo) : "-inf";
        std::string hi = r.bounded ? fmt::format("{:.6g}", r.hi) : "+inf";
        std::string shares = "";
        if (r.bits) {
          double total = static_cast<double>(r.bits->robust + r.bits->ranging + r.bits->vulnerable);
          shares = fmt::format("{:>7.1f}% {:>7.1f}% {:>7.1f}%", 100.0 * r.bits->robust / total,
                               100.0 * r.bits->ranging / total, 100.0 * r.bits->vulnerable / total);
        }
        fmt::print("{:<48} {:<10} {:>14} {:>14} {}\n", name, r.kind, lo, hi, shares);
      }
      double total = static_cast<double>(bits.robust + bits.ranging + bits.vulnerable);
      fmt::print("\nbits: {:.1f}% robust, {:.1f}% ranging, {:.1f}% vulnerable (tolerance {})\n",
                 100.0 * bits.robust / total, 100.0 * bits.ranging / total,
                 100.0 * bits.vulnerable / total, args->tolerance);
      fmt::print("{} values, {} steps without an interval rule (unbounded), {:.3f} s\n",
                 rows.size(), unruled, ra.seconds + bits.seconds);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
