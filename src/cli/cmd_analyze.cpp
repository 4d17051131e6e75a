// `save analyze MODEL`: the one-time offline analysis. Runs the range
// analysis (per-element intervals from the input constraint) and the bit
// attribution, and prints a per-value table (interval, bit shares, bytes
// that would need reliable memory, time) or JSON; --out DIR also writes
// DIR/bits_per_layer.svg.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/analysis_report.hpp"
#include "analysis/attribution.hpp"
#include "analysis/bits_svg.hpp"
#include "analysis/range_analysis.hpp"
#include "cli/commands.hpp"
#include "cli/input_options.hpp"
#include "cli/protect_options.hpp"
#include "core/hash.hpp"
#include "eval/files.hpp"
#include "import/onnx_import.hpp"
#include "protect/protection_plan.hpp"

namespace save::cli {

void add_analyze_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string model, out_dir, plan_out;
    std::vector<std::string> ranges;
    InputOptions in;
    bool json = false, no_fuse = false, symbolic = false;
    int threads = 0;
    double tolerance = 1e-5;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "analyze", "Range analysis and bit attribution of a model (SAVE selection stage)");
  c->add_option("model", args->model, "ONNX model file")->required();
  c->add_option("--input-range", args->ranges,
                "NAME=LO:HI constraint on a model input (repeatable; default [0, 1] for float "
                "inputs)");
  // --input-shape NAME=D1xD2x... (the shape the model will run at; default:
  // one sample of --input/--data, else the declared shape with unknown dims
  // 1). The plan covers that shape only (any batch when the model treats
  // samples separately).
  add_input_options(c, args->in, false);
  c->add_option("--threads", args->threads, "Threads (default: all cores)");
  c->add_option("--tolerance", args->tolerance,
                "Largest harmless change of a value (robust bits), as in SAVE")
      ->capture_default_str();
  c->add_flag("--json", args->json, "Print JSON instead of a table");
  c->add_option("--out", args->out_dir, "Also write DIR/bits_per_layer.svg");
  c->add_option("-o,--plan", args->plan_out,
                "Write the protection plan (for `save run|inject --protect save --plan PLAN`), "
                "tied to this model's sha256");
  add_no_fuse_option(c, args->no_fuse);
  c->add_flag("--symbolic", args->symbolic,
              "Also propagate linear bounds in the input elements (DeepPoly-style) and keep "
              "the tighter bound of each element; slower, and on the bundled models no tighter "
              "yet");
  c->callback([args, &exit_code] {
    RangeOptions opts;
    opts.symbolic.enabled = args->symbolic;
    for (const auto& r : args->ranges) opts.input_ranges.insert(parse_input_range(r));
    SessionOptions so;
    so.threads = args->threads;
    so.passes.enabled = !args->no_fuse;
    Session session(import_onnx_file(args->model), so);
    const Graph& g = session.graph();
    // At the shapes the model runs: --input-shape, else one sample of the
    // data (data/input_spec.hpp), else the declared shapes.
    std::optional<Dataset> data;
    if (args->in.has_data()) data = load_input_set(g, args->in);
    opts.input_shapes = analysis_shapes(g, args->in, data ? &*data : nullptr);
    for (const auto& [name, range] : opts.input_ranges) {
      (void)range;
      bool known = false;
      for (ValueId v : g.inputs) known = known || g.values[v].name == name;
      SAVE_CHECK(known, "--input-range: the model has no input named '{}'", name);
    }
    RangeAnalysis ra = [&] {
      try {
        return analyze_ranges(session, opts);
      } catch (const Error& e) {
        // Unknown dims (past the batch) left at 1 are the usual cause: say
        // which input needs its shape stated.
        for (ValueId v : g.inputs) {
          const Value& in = g.values[v];
          bool unknown = false;
          for (size_t d = 1; d < in.shape.size(); ++d) unknown |= !in.shape[d].known();
          if (unknown && !opts.input_shapes.count(in.name))
            throw Error(fmt::format(
                "{} (input '{}' has unknown dims, planned as 1: state the shape it runs at with "
                "--input-shape {}=D1xD2x..., or give --input {}=FILE.npy)",
                e.what(), in.name, in.name, in.name));
        }
        throw;
      }
    }();
    const Plan& plan = *ra.plan;
    Attribution bits = attribute_bits(ra, args->tolerance);
    if (!args->plan_out.empty())
      protect::save_plan(protect::plan_from_analysis(ra, args->tolerance, file_sha256(args->model)),
                         args->plan_out);
    const AnalysisReport report = analysis_report(ra, bits);
    const std::vector<AnalysisRow>& rows = report.rows;
    const std::vector<const ValueBits*>& bits_of = report.bits_of;
    const uint64_t reliable_bytes = report.reliable_bytes;
    const double seconds = report.seconds;

    std::string svg_path;
    if (!args->out_dir.empty()) {
      // One bar per step: the bits of its outputs and of the weights it is
      // the first to read.
      std::vector<LayerBits> layers;
      std::vector<bool> drawn(g.values.size(), false);
      for (const PlannedStep& st : plan.steps()) {
        LayerBits l;
        l.name = g.nodes[st.node].name;
        for (const auto* list : {&st.outputs, &st.inputs})
          for (ValueId v : *list) {
            if (v == kNoId || drawn[v] || !bits_of[v]) continue;
            if (list == &st.inputs && !bits_of[v]->weight) continue;
            drawn[v] = true;
            l.robust += bits_of[v]->robust;
            l.ranging += bits_of[v]->ranging;
            l.vulnerable += bits_of[v]->vulnerable;
          }
        if (l.robust + l.ranging + l.vulnerable > 0) layers.push_back(std::move(l));
      }
      eval::ensure_dir(args->out_dir);
      const std::string path = args->out_dir + "/bits_per_layer.svg";
      const double all = static_cast<double>(bits.robust + bits.ranging + bits.vulnerable);
      // Whole file or nothing (tmp + rename), like every result file.
      eval::write_file_atomic(
          path, bits_per_layer_svg(
                    layers, fmt::format("{}: {:.1f}% robust, {:.1f}% ranging, {:.1f}% vulnerable "
                                        "bits (tolerance {})",
                                        std::filesystem::path(args->model).filename().string(),
                                        100.0 * static_cast<double>(bits.robust) / all,
                                        100.0 * static_cast<double>(bits.ranging) / all,
                                        100.0 * static_cast<double>(bits.vulnerable) / all,
                                        args->tolerance)));
      svg_path = path;
    }
    const size_t unruled = report.steps_without_rule;

    if (args->json) {
      const nlohmann::json j =
          analysis_json(report, ra, bits, args->model, file_sha256(args->model), args->tolerance);
      fmt::print("{}\n", j.dump(2));
    } else {
      for (size_t i = 0; i < ra.inputs.size(); ++i) {
        const InputRange& in = ra.inputs[i];
        std::string dims;
        for (size_t d = 0; d < ra.input_shapes.at(i).size(); ++d) {
          if (d > 0) dims += 'x';
          dims += d == 0 && ra.any_batch ? std::string("N") : std::to_string(ra.input_shapes[i][d]);
        }
        fmt::print("input {:<24} [{}, {}]{}  shape {}\n", in.name, in.lo, in.hi,
                   in.defaulted ? "  (default constraint; set with --input-range)" : "", dims);
      }
      fmt::print("\n{:<48} {:<10} {:>14} {:>14} {:>8} {:>8} {:>8} {:>11} {:>8}\n", "value", "kind",
                 "lo", "hi", "robust", "ranging", "vulnr", "reliable B", "ms");
      for (const AnalysisRow& r : rows) {
        std::string name = r.name.size() > 47 ? "…" + r.name.substr(r.name.size() - 46) : r.name;
        std::string lo = r.bounded ? fmt::format("{:.6g}", r.lo) : "-inf";
        std::string hi = r.bounded ? fmt::format("{:.6g}", r.hi) : "+inf";
        std::string shares = "";
        if (r.bits) {
          double total = static_cast<double>(r.bits->robust + r.bits->ranging + r.bits->vulnerable);
          shares = fmt::format("{:>7.1f}% {:>7.1f}% {:>7.1f}% {:>11}",
                               100.0 * r.bits->robust / total, 100.0 * r.bits->ranging / total,
                               100.0 * r.bits->vulnerable / total, r.bits->reliable_bytes());
        } else {
          shares = fmt::format("{:>8} {:>8} {:>8} {:>11}", "-", "-", "-", "-");
        }
        shares += fmt::format(" {:>8.3f}", r.seconds * 1e3);
        fmt::print("{:<48} {:<10} {:>14} {:>14} {}\n", name, r.kind, lo, hi, shares);
      }
      double total = static_cast<double>(bits.robust + bits.ranging + bits.vulnerable);
      fmt::print("\nbits: {:.1f}% robust, {:.1f}% ranging, {:.1f}% vulnerable (tolerance {})\n",
                 100.0 * bits.robust / total, 100.0 * bits.ranging / total,
                 100.0 * bits.vulnerable / total, args->tolerance);
      fmt::print("reliable memory: {} bytes (elements with at least one vulnerable bit)\n",
                 reliable_bytes);
      fmt::print("{} values, {} steps without an interval rule (unbounded), {:.3f} s\n",
                 rows.size(), unruled, seconds);
      const SymbolicStats& sy = ra.symbolic;
      if (sy.on)
        fmt::print(
            "symbolic bounds: linear in {} input elements; {} values had a form, {} tightened; "
            "peak {:.0f} MB, {:.3f} s\n",
            sy.generators, sy.values_with_form, sy.values_tightened, sy.peak_bytes / 1e6,
            sy.seconds);
      else if (args->symbolic)
        fmt::print("symbolic bounds: off ({})\n", sy.off_reason);
      if (!svg_path.empty()) fmt::print("wrote {}\n", svg_path);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
