// `save eval MODEL --out DIR [--quick]`: every protection mode side by side
// (src/eval/eval_suite.hpp): campaigns per mode and scenario, the
// out-of-distribution false-alarm sets, then results.json, results.csv,
// report.md and plots in DIR, and a short table on stdout.
//
// --quick picks the subset of quick_spec(); options given explicitly
// (--limit, --trials) still win. Modes not built yet are skipped with a note
// when --modes is not given, and are an error when named in --modes.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/input_options.hpp"
#include "cli/protect_options.hpp"
#include "core/error.hpp"
#include "dist/world.hpp"
#include "eval/eval_suite.hpp"
#include "eval/progress.hpp"
#include "eval/shard.hpp"

namespace save::cli {

void add_eval_command(CLI::App& app, int& exit_code) {
  struct Args {
    eval::EvalSpec spec;
    std::vector<std::string> modes;
    std::shared_ptr<ProtectArgs> protect = std::make_shared<ProtectArgs>();
    bool quick = false, json = false, no_fuse = false;
    InputOptions in;
    std::vector<std::string> sdc_metrics;
  };
  auto a = std::make_shared<Args>();
  eval::EvalSpec& s = a->spec;
  CLI::App* c =
      app.add_subcommand("eval", "Compare every protection mode under bit flips (one report)");
  c->add_option("model", s.model_path, "ONNX model file")->required();
  c->add_option("--out", s.out_dir, "Results folder (created; re-running resumes)")->required();
  c->add_flag("--quick", a->quick,
              "A short subset: 1,000 images, 1 trial, 200 inputs per out-of-distribution set, "
              "1 thread (under a minute for fmnist-cnn)");
  c->add_option(
       "--modes", a->modes,
       "Modes, comma-separated (default: all nine; one that cannot run is skipped with a note)")
      ->delimiter(',');
  // Default: --data fashion-mnist.
  add_input_options(c, a->in);
  add_sdc_metric_option(c, a->sdc_metrics);
  c->add_option("--limit", s.limit, "Use only the first N samples (default: all)");
  c->add_option("--trials", s.trials, "Trials per mode, scenario and flip count")
      ->capture_default_str();
  c->add_option("--ood-samples", s.ood_samples, "Inputs per out-of-distribution set (0: skip them)")
      ->capture_default_str();
  c->add_option("--seed", s.seed, "Seed: the same seed replays the same flips")
      ->capture_default_str();
  c->add_option("--threads", s.threads, "Threads (default: all cores)");
  c->add_option("--batch", s.batch, "Batch size")->capture_default_str();
  c->add_option("--latency-rounds", s.latency_rounds,
                "Interleaved timing rounds (every mode once per round, fault-free; --quick: 7)")
      ->capture_default_str();
  c->add_option("--latency-batches", s.latency_batches, "Batches each mode runs per timing round")
      ->capture_default_str();
  // The options `save run|inject --protect` take, minus --protect itself:
  // eval runs every mode (--modes picks them).
  add_protect_options(c, a->protect);
  c->remove_option(c->get_option("--protect"));
  c->add_flag("--json", a->json, "Print results.json on stdout instead of the table");
  add_no_fuse_option(c, a->no_fuse);
  c->callback([a, c, &exit_code] {
    eval::EvalSpec spec = a->spec;
    spec.data = a->in.has_data() ? a->in.data : "fashion-mnist";
    spec.labels = a->in.labels;
    spec.inputs = a->in.inputs;
    spec.input_shapes = a->in.shapes;
    spec.sdc_metrics = parse_sdc_metrics(a->sdc_metrics);
    // model_sha256 is set per mode (rednet runs another file).
    spec.protect_opts = protection_options(*a->protect, "", spec.batch);
    if (a->quick) {
      spec = eval::quick_spec(spec);
      // Explicit options win over the quick subset.
      if (c->count("--limit")) spec.limit = a->spec.limit;
      if (c->count("--trials")) spec.trials = a->spec.trials;
      if (c->count("--ood-samples")) spec.ood_samples = a->spec.ood_samples;
      if (c->count("--threads")) spec.threads = a->spec.threads;
      if (c->count("--latency-rounds")) spec.latency_rounds = a->spec.latency_rounds;
    }
    spec.modes = a->modes;
    spec.fuse = !a->no_fuse;
    spec.progress_tty = eval::Progress::stderr_is_tty();
    // Under mpirun: this process's share of the campaigns (eval/shard.hpp).
    spec.shard = dist::world();
    const bool quiet = spec.shard && !spec.shard->leader();
    if (quiet) spec.progress = nullptr;  // rank 0 speaks for the job
    auto t0 = std::chrono::steady_clock::now();
    eval::EvalOutcome r = eval::run_eval(spec);
    exit_code = 0;
    if (quiet) return;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (a->json) {
      fmt::print("{}\n", r.results.dump(2));
    } else {
      fmt::print("\n{}\n", r.table);
      fmt::print(
          "{} trials run, {} already recorded, {:.0f} s; results in {}/ (report.md, "
          "results.json, results.csv, *.svg; one campaign folder per mode and scenario)\n",
          r.ran, r.skipped, secs, spec.out_dir);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
