// `save inject MODEL`: a bit-flip campaign (src/eval/campaign.hpp): trials
// per flip count, resumable, with summary, CSV, report and plot in --out.
//
// summary.json is byte-identical for the same arguments and seed, so it
// holds no wall-clock field; latency, AccurateLatency and throughput live in
// timings.json, summary.csv and report.md, and --json prints the summary
// with them merged in (that output is not deterministic).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/input_options.hpp"
#include "cli/protect_options.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "data/input_spec.hpp"
#include "dist/world.hpp"
#include "eval/campaign.hpp"
#include "eval/progress.hpp"
#include "eval/shard.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "modes/registry.hpp"

namespace save::cli {

namespace {

std::vector<int64_t> parse_flips(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SAVE_CHECK(used == item.size() && v >= 0,
               "--flips takes non-negative counts separated by commas (got '{}')", s);
    out.push_back(v);
  }
  SAVE_CHECK(!out.empty(), "--flips needs at least one count");
  return out;
}

}  // namespace

void add_inject_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string model, flips = "0,1,16,256,4096", pattern = "random", scenario = "accumulated",
                       target = "weights", out;
    int64_t trials = 10, limit = 0, batch = 64;
    int threads = 0, bits_per_word = 1, burst_length = 16;
    uint64_t seed = 1;
    bool json = false, no_fuse = false;
    InputOptions in;
    std::vector<std::string> sdc_metrics;
  };
  auto a = std::make_shared<Args>();
  auto prot = std::make_shared<ProtectArgs>();
  CLI::App* c = app.add_subcommand("inject", "Run a bit-flip fault-injection campaign");
  c->add_option("model", a->model, "ONNX model file")->required();
  add_input_options(c, a->in);
  add_sdc_metric_option(c, a->sdc_metrics);
  c->add_option("--flips", a->flips, "Flip events per trial, comma-separated")
      ->capture_default_str();
  c->add_option("--trials", a->trials, "Trials per flip count")->capture_default_str();
  c->add_option("--pattern", a->pattern, "random | consecutive | burst")->capture_default_str();
  c->add_option("--scenario", a->scenario, "accumulated | streaming")->capture_default_str();
  c->add_option("--target", a->target, "weights | activations | all")->capture_default_str();
  c->add_option("--bits-per-word", a->bits_per_word, "Adjacent bits flipped per event (1-32)")
      ->capture_default_str();
  c->add_option("--burst-length", a->burst_length, "Bits per run for --pattern burst")
      ->capture_default_str();
  c->add_option("--seed", a->seed, "Seed: the same seed replays the same flips")
      ->capture_default_str();
  c->add_option("--out", a->out, "Campaign folder (created; re-running resumes)")->required();
  c->add_option("--limit", a->limit, "Use only the first N samples");
  c->add_option("--batch", a->batch, "Batch size")->capture_default_str();
  c->add_option("--threads", a->threads, "Threads (default: all cores)");
  add_protect_options(c, prot);
  add_no_fuse_option(c, a->no_fuse);
  c->add_flag("--json", a->json, "Print the summary (with timings) as JSON on stdout");
  c->callback([a, prot, &exit_code] {
    // Under mpirun: this process's share of the trials (eval/shard.hpp).
    eval::Shard* shard = dist::world();
    const bool quiet = shard && !shard->leader();
    eval::CampaignSpec spec;
    spec.flips = parse_flips(a->flips);
    spec.fault.pattern = parse_pattern(a->pattern);
    spec.fault.scenario = parse_scenario(a->scenario);
    spec.fault.target = parse_target(a->target);
    SAVE_CHECK(a->bits_per_word >= 1 && a->bits_per_word <= 32, "--bits-per-word must be 1..32");
    SAVE_CHECK(a->burst_length >= 1, "--burst-length must be >= 1");
    SAVE_CHECK(a->trials >= 1, "--trials must be >= 1");
    {
      // Refused before the model is read: the to-do list is built up front.
      std::set<int64_t> distinct(spec.flips.begin(), spec.flips.end());
      SAVE_CHECK(a->trials <= eval::kMaxCampaignTrials / static_cast<int64_t>(distinct.size()),
                 "--trials {} with {} flip counts asks for more than {} trials, the most one "
                 "campaign runs; split it over several --out folders or seeds",
                 a->trials, distinct.size(), eval::kMaxCampaignTrials);
    }
    spec.fault.bits_per_word = a->bits_per_word;
    spec.fault.burst_length = a->burst_length;
    spec.trials = a->trials;
    spec.protect = prot->mode;
    spec.model_path = a->model;
    spec.labels = a->in.labels;
    spec.limit = a->limit;
    spec.sdc_metrics = parse_sdc_metrics(a->sdc_metrics);
    spec.threads = a->threads;
    spec.seed = a->seed;
    spec.out_dir = a->out;
    spec.progress_tty = eval::Progress::stderr_is_tty();
    if (quiet) spec.progress = nullptr;  // rank 0 speaks for the job

    SessionOptions so;
    so.threads = a->threads;
    so.passes.enabled = !a->no_fuse;
    modes::adapt_session_options(prot->mode, so);
    Session session(import_onnx_file(a->model), so);
    spec.model_sha256 = file_sha256(a->model);
    // Every model input (data/input_spec.hpp); a fixed batch dim sets the batch.
    Dataset data = load_input_set(session.graph(), a->in);
    spec.data = data.source;
    spec.batch = effective_batch(data, a->batch);
    check_model_takes(session, data, spec.batch);
    spec.protect_opts = protection_options(*prot, spec.model_sha256, spec.batch);
    if (quiet) spec.protect_opts.log = nullptr;
    eval::CampaignOutcome r = shard ? eval::run_campaign_sharded(spec, session, data, *shard)
                                    : eval::run_campaign(spec, session, data);
    exit_code = 0;
    if (quiet) return;
    if (a->json) {
      fmt::print("{}\n", r.combined.dump(2));
    } else {
      fmt::print(
          "{} trials run, {} already recorded; results in {}/ (report.md, summary.json, "
          "summary.csv, timings.json, accuracy_vs_flips.svg)\n",
          r.ran, r.skipped, a->out);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
