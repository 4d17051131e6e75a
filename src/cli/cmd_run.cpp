// `save run MODEL`: inference over a dataset or bound inputs, with accuracy,
// latency and throughput.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/input_options.hpp"
#include "cli/protect_options.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/peak_memory.hpp"
#include "core/stats.hpp"
#include "data/input_spec.hpp"
#include "data/npy.hpp"
#include "eval/sdc_metric.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "modes/registry.hpp"
#include "protect/mode.hpp"
#include "protect/report_json.hpp"
#include "protect/save_protection.hpp"

namespace save::cli {

namespace {

// Concatenates batch outputs along axis 0.
Tensor concat_rows(const std::vector<Tensor>& parts) {
  Shape s = parts.front().shape();
  int64_t rows = 0;
  for (const auto& t : parts) rows += t.rank() ? t.shape()[0] : 1;
  if (s.empty()) return parts.front();
  s[0] = rows;
  Tensor out(parts.front().dtype(), s);
  size_t off = 0;
  for (const auto& t : parts) {
    std::memcpy(static_cast<std::byte*>(out.data()) + off, t.data(), t.nbytes());
    off += t.nbytes();
  }
  return out;
}

void write_outputs(const std::string& dir, const Graph& g, const std::vector<Tensor>& outs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  SAVE_CHECK(!ec && fs::is_directory(dir), "cannot create output folder '{}'", dir);
  for (size_t i = 0; i < outs.size(); ++i) {
    std::string name = g.values[g.outputs[i]].name;
    std::replace_if(
        name.begin(), name.end(), [](char c) { return c == '/' || c == '\\'; }, '_');
    write_npy((fs::path(dir) / (name + ".npy")).string(), outs[i]);
  }
}

// What `save run` measured: cold start apart from the warm runs.
struct RunTiming {
  double load_ms = 0;       // import, session, protection set-up
  double first_run_ms = 0;  // the first inference: plan, kernel creation, first touch
  std::vector<double> warm_ms;
  int64_t warm_samples = 0;   // samples in the timed warm runs
  int64_t warmup_runs = 0;    // untimed runs between the cold run and the timed ones
  int64_t replayed_runs = 0;  // --data: runs of already-seen batches (timing only)
  int64_t excluded_runs = 0;  // --data: batches of another size (a new plan: not warm)
};

// The largest --warmup / --repeat accepted: beyond it a typo, not a request.
constexpr int64_t kMaxRuns = 1000000;

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string model, output;
    InputOptions in;
    int64_t limit = 0, batch = 1, warmup = 3, repeat = -1;  // repeat -1: the default
    int threads = 0;
    bool json = false, reference = false, no_fuse = false;
  };
  auto args = std::make_shared<Args>();
  auto prot = std::make_shared<ProtectArgs>();
  CLI::App* c = app.add_subcommand("run", "Run inference and report accuracy and latency");
  c->add_option("model", args->model, "ONNX model file")->required();
  add_input_options(c, args->in);
  c->add_option("--output", args->output, "Write each model output to DIR/<name>.npy");
  c->add_option("--limit", args->limit, "Use only the first N samples");
  c->add_option("--batch", args->batch, "Batch size")->capture_default_str();
  c->add_option("--threads", args->threads, "Threads (default: all cores)");
  c->add_option("--warmup", args->warmup,
                "Untimed runs after the first (cold) run; with --data the batches after the "
                "first")
      ->capture_default_str();
  c->add_option("--repeat", args->repeat,
                "Timed warm runs (default: 10 with --input, which runs all its samples as one "
                "batch; with --data every batch after the warm-up)");
  c->add_flag("--reference", args->reference, "Use the reference kernels only");
  c->add_flag("--json", args->json, "Print a JSON summary");
  add_protect_options(c, prot);
  add_no_fuse_option(c, args->no_fuse);
  c->callback([args, prot, &exit_code] {
    using clock = std::chrono::steady_clock;
    auto ms_since = [](clock::time_point t0) {
      return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    };
    const auto t_start = clock::now();
    SAVE_CHECK(args->warmup >= 0 && args->warmup <= kMaxRuns,
               "--warmup must be between 0 and {}, got {}", kMaxRuns, args->warmup);
    SAVE_CHECK(args->repeat == -1 || (args->repeat >= 1 && args->repeat <= kMaxRuns),
               "--repeat must be between 1 and {}, got {}", kMaxRuns, args->repeat);
    SessionOptions so;
    so.threads = args->threads;
    so.plan.use_fast_kernels = !args->reference;
    so.passes.enabled = !args->no_fuse;
    modes::adapt_session_options(prot->mode, so);
    Session session(import_onnx_file(args->model), so);
    const Graph& g = session.graph();
    // Every model input, checked against the model (data/input_spec.hpp).
    const Dataset ds = load_input_set(g, args->in);
    const std::string labels_source = args->in.labels.empty() ? ds.source : args->in.labels;
    args->batch = effective_batch(ds, args->batch);  // a fixed batch dim sets it
    // A protection mode's hooks run with every inference; it (re)prepares
    // whenever a new batch shape adds a plan (a last, shorter batch).
    std::unique_ptr<protect::Protection> protection;
    size_t prepared_plans = 0;
    if (prot->mode != "none") {
      protection = modes::make_protection(
          prot->mode, session, protection_options(*prot, file_sha256(args->model), args->batch));
      protection->begin_trial(nullptr);
    }
    auto run_protected = [&](const std::vector<Tensor>& in) {
      return protection ? protect::run_protected(*protection, session, in, prepared_plans)
                        : session.run(in);
    };
    RunTiming tm;
    tm.load_ms = ms_since(t_start);
    std::vector<Tensor> outputs;
    int64_t samples = 0, correct = 0;
    bool labelled = false;

    // Accuracy: output 0's top-1 (eval/sdc_metric.hpp) against the labels.
    auto score = [&](const Tensor& logits, int64_t b, int64_t e) {
      SAVE_CHECK(logits.dtype() == DType::kF32 && logits.rank() == 2 && logits.shape()[0] == e - b,
                 "accuracy needs a float32 first output of shape [batch, classes], got {}",
                 shape_str(logits.shape()));
      const int64_t k = logits.shape()[1];
      check_labels(ds.labels, b, e, k, labels_source);
      for (int64_t i = 0; i < e - b; ++i)
        correct += top1(logits.ptr<float>() + i * k, k) == ds.labels[b + i];
    };
    labelled = !ds.labels.empty();

    if (!args->in.inputs.empty()) {
      const std::vector<Tensor> in = ds.inputs;
      samples = ds.size();
      // The same inputs every run: run 0 is the cold one (its outputs are
      // the ones written), then the warm-up, then the timed runs.
      const int64_t repeat = args->repeat > 0 ? args->repeat : 10;
      auto t0 = clock::now();
      outputs = run_protected(in);
      tm.first_run_ms = ms_since(t0);
      if (labelled) score(outputs[0], 0, samples);
      for (int64_t w = 0; w < args->warmup; ++w) run_protected(in);
      tm.warmup_runs = args->warmup;
      for (int64_t r = 0; r < repeat; ++r) {
        t0 = clock::now();
        run_protected(in);
        tm.warm_ms.push_back(ms_since(t0));
        tm.warm_samples += samples;
      }
    } else {
      int64_t n = ds.size();
      if (args->limit > 0) n = std::min(n, args->limit);
      SAVE_CHECK(n > 0, "the dataset '{}' has no samples", ds.source);
      // Every batch counts once for accuracy and --output. Timing: batch 0
      // is the cold run, the next --warmup batches are untimed, the rest of
      // the full-size batches are the timed warm runs (the first --repeat of
      // them when given). A last, shorter batch is not timed: its new shape
      // builds a new plan, a second cold run. When the dataset has too few
      // batches, full-size batches are run again for timing only.
      const int64_t full = std::min(n, args->batch);
      const int64_t wanted = args->repeat > 0 ? args->repeat : 0;  // 0: all that come
      auto timed_run = [&](const std::vector<Tensor>& x, int64_t rows, int64_t index) {
        auto t0 = clock::now();
        std::vector<Tensor> outs = run_protected(x);
        double ms = ms_since(t0);
        if (index == 0) {
          tm.first_run_ms = ms;
        } else if (rows != full) {
          ++tm.excluded_runs;
        } else if (tm.warmup_runs < args->warmup) {
          ++tm.warmup_runs;
        } else if (wanted == 0 || static_cast<int64_t>(tm.warm_ms.size()) < wanted) {
          tm.warm_ms.push_back(ms);
          tm.warm_samples += rows;
        }
        return outs;
      };
      std::vector<std::vector<Tensor>> parts(g.outputs.size());
      int64_t index = 0;
      for (int64_t b = 0; b < n; b += args->batch, ++index) {
        int64_t e = std::min(n, b + args->batch);
        std::vector<Tensor> outs = timed_run(batch_of(ds, b, e), e - b, index);
        if (labelled) score(outs[0], b, e);
        if (!args->output.empty())
          for (size_t o = 0; o < outs.size(); ++o) parts[o].push_back(std::move(outs[o]));
      }
      // Too few batches for the warm-up and the timed runs: replay the
      // full-size batches in order (outputs and accuracy already counted).
      const int64_t need = std::max<int64_t>(wanted, 1);
      for (int64_t b = 0;
           tm.warmup_runs < args->warmup || static_cast<int64_t>(tm.warm_ms.size()) < need;
           b = (b + 2 * full > n) ? 0 : b + full, ++index) {
        timed_run(batch_of(ds, b, b + full), full, index);
        ++tm.replayed_runs;
      }
      samples = n;
      if (!args->output.empty())
        for (auto& p : parts) outputs.push_back(concat_rows(p));
    }
    if (!args->output.empty()) write_outputs(args->output, g, outputs);

    double total_ms = 0;
    for (double t : tm.warm_ms) total_ms += t;
    const double p50 = percentile(tm.warm_ms, 0.5), p90 = percentile(tm.warm_ms, 0.9);
    const double cold_ms = tm.load_ms + tm.first_run_ms;
    const double peak_mib = peak_rss_mib();
    double throughput =
        total_ms > 0 ? static_cast<double>(tm.warm_samples) / (total_ms / 1000.0) : 0;
    std::optional<double> accuracy;
    if (labelled && samples > 0)
      accuracy = static_cast<double>(correct) / static_cast<double>(samples);
    protect::ProtectionCounts pc;
    const protect::RunReport* save_rep = nullptr;
    if (protection) {
      pc = protection->end_trial();
      save_rep = protection->run_report();
    }
    if (args->json) {
      nlohmann::json j;
      j["protect"] = prot->mode;
      if (protection) {
        // save's report carries its uncorrectable sites; a baseline's only counts.
        j.update(save_rep ? protect::to_json(*save_rep) : protect::to_json(pc));
      }
      j["model"] = args->model;
      j["samples"] = samples;
      j["batch"] = args->batch;
      j["threads"] = args->threads > 0 ? args->threads : omp_get_max_threads();
      j["accuracy"] = accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr);
      j["cold_ms"] = cold_ms;
      j["load_ms"] = tm.load_ms;
      j["first_run_ms"] = tm.first_run_ms;
      j["latency_ms"] = {{"p50", p50}, {"p90", p90}};
      j["warmup"] = tm.warmup_runs;
      j["warm_runs"] = tm.warm_ms.size();
      j["replayed_runs"] = tm.replayed_runs;
      j["excluded_runs"] = tm.excluded_runs;
      j["throughput_per_s"] = throughput;
      j["peak_rss_mb"] = peak_mib;
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("model       {}\n", args->model);
      fmt::print("samples     {} (batch {}, {} threads)\n", samples, args->batch,
                 args->threads > 0 ? args->threads : omp_get_max_threads());
      if (accuracy)
        fmt::print("accuracy    {:.2f}% ({} of {})\n", *accuracy * 100, correct, samples);
      fmt::print("cold start  {:.3f} ms (load and set-up {:.3f} ms, first run {:.3f} ms)\n",
                 cold_ms, tm.load_ms, tm.first_run_ms);
      std::string extra;
      if (tm.replayed_runs > 0)
        extra += fmt::format(", {} runs on replayed batches", tm.replayed_runs);
      if (tm.excluded_runs > 0)
        extra += fmt::format(", {} shorter batch not timed", tm.excluded_runs);
      fmt::print(
          "latency     p50 {:.3f} ms, p90 {:.3f} ms per batch ({} warm runs after {} "
          "warm-up{})\n",
          p50, p90, tm.warm_ms.size(), tm.warmup_runs, extra);
      fmt::print("throughput  {:.1f} samples/s (warm runs)\n", throughput);
      fmt::print("peak memory {:.1f} MiB resident\n", peak_mib);
      if (protection) {
        fmt::print(
            "protection  {}: {} detections ({} false alarms), {} recoveries ({} corrected in "
            "place, {} restarts, {} steps re-run), {} uncorrectable; checks {:.1f} ms in all; "
            "reliable memory {} B\n",
            prot->mode, pc.detections, pc.false_alarms, pc.recoveries, pc.corrections, pc.restarts,
            pc.reexecuted_steps, pc.uncorrectable, pc.check_ms, pc.reliable_bytes);
        if (pc.write_check_ms + pc.read_check_ms + pc.weight_check_ms + pc.recovery_ms > 0)
          fmt::print(
              "  check time: outputs when written {:.1f} ms, values before read {:.1f} ms, "
              "weights {:.1f} ms; repairs {:.1f} ms\n",
              pc.write_check_ms, pc.read_check_ms, pc.weight_check_ms, pc.recovery_ms);
        for (const auto& [site, n] : pc.by_site) fmt::print("  detected at {}: {}\n", site, n);
        if (save_rep) {
          for (const auto& x : save_rep->uncorrectable)
            fmt::print("  UNCORRECTABLE: {} check of '{}' at node '{}' failed again after repair\n",
                       x.check, x.value, x.node);
          if (save_rep->inputs_outside_constraint > 0)
            fmt::print(
                "  {} batches had inputs outside the input constraint (not faults; range "
                "checks skipped for them)\n",
                save_rep->inputs_outside_constraint);
        }
      }
      if (!args->output.empty()) fmt::print("outputs     written to {}\n", args->output);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
