// `save sweep MODEL`: flips each selected weight bit alone and records its
// effect on a validation batch (see inject/sweep.hpp), with a per-bit-
// position table, per-bit records in CSV or JSONL, and the sweep speed.
// Under mpirun the bits are shared out over the ranks (eval/sweep_shard.hpp)
// and rank 0 writes what one process writes.
#include <fmt/format.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "cli/input_options.hpp"
#include "cli/protect_options.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hash.hpp"
#include "data/dataset.hpp"
#include "data/input_spec.hpp"
#include "dist/world.hpp"
#include "eval/progress.hpp"
#include "eval/shard.hpp"
#include "eval/sweep_shard.hpp"
#include "import/onnx_import.hpp"
#include "inject/sweep.hpp"

namespace save::cli {

namespace {

// Per-bit records, as CSV or JSON lines by the file's extension. They go to
// a temporary name next to --out and are renamed over it only when the sweep
// finished (core/files.hpp's AtomicFile): an existing file is never truncated
// by a run that fails, and a killed sweep leaves no partial file under the
// --out name.
class RecordWriter {
 public:
  explicit RecordWriter(const std::string& path)
      : jsonl_(path.ends_with(".jsonl")), file_(check_path(path)) {
    if (!jsonl_)
      file_.write(
          "tensor,element,bit,max_abs,max_rel,top1_changes,nonfinite,consumer_max_abs,"
          "predicted_robust\n");
  }
  void write(const SweepTensor& t, const BitEffect& e) {
    if (jsonl_) {
      nlohmann::json j{{"tensor", t.name},
                       {"element", e.element},
                       {"bit", e.bit},
                       {"max_abs", e.max_abs},
                       {"max_rel", e.max_rel},
                       {"top1_changes", e.top1_changes},
                       {"nonfinite", e.nonfinite},
                       {"consumer_max_abs", e.consumer_max_abs},
                       {"predicted_robust", e.predicted_robust}};  // inf is written as null
      file_.write(j.dump() + '\n');
    } else {
      file_.write(fmt::format("{},{},{},{:.9g},{:.9g},{},{},{:.9g},{}\n", t.name, e.element, e.bit,
                              e.max_abs, e.max_rel, e.top1_changes, e.nonfinite ? 1 : 0,
                              e.consumer_max_abs, e.predicted_robust ? 1 : 0));
    }
  }
  // Syncs and renames the records into place.
  void commit() { file_.commit(); }

  // Refuses an --out the writer cannot write; returns it.
  static std::string check_path(const std::string& path) {
    SAVE_CHECK(path.ends_with(".csv") || path.ends_with(".jsonl"),
               "--out '{}' must end in .csv or .jsonl", path);
    std::error_code ec;
    SAVE_CHECK(!std::filesystem::is_directory(path, ec), "--out '{}' is a folder, not a file",
               path);
    return path;
  }

 private:
  bool jsonl_;
  AtomicFile file_;
};

nlohmann::json summary_json(const std::string& model, const Sweep& sw, const SweepSummary& sum,
                            int64_t batch, uint64_t seed, double tol) {
  nlohmann::json j;
  j["stopped_early"] = sum.stopped_early;  // the change vanished before the last step
  j["skipped_steps"] = sum.skipped_steps;  // inputs identical to the fault-free run
  if (tol > 0) {
    const Confusion& c = sum.confusion;
    j["prediction"] = {{"tolerance", tol},
                       {"predicted_robust_truly_robust", c.robust_robust},
                       {"false_robust", c.false_robust},
                       {"false_robust_reader_outputs", c.false_robust_consumer},
                       {"conservative", c.conservative},
                       {"predicted_nonrobust_truly_nonrobust", c.nonrobust_nonrobust}};
  }
  j["model"] = model;
  j["batch"] = batch;
  j["seed"] = seed;
  j["sampled"] = sw.sampled();
  j["population_bits"] = sw.population_bits();
  j["swept_bits"] = sum.bits;
  j["seconds"] = sum.seconds;
  j["bits_per_second"] = sum.bits_per_second();
  j["tensors"] = nlohmann::json::array();
  for (const SweepTensor& t : sw.tensors())
    j["tensors"].push_back({{"name", t.name},
                            {"folded", t.folded},
                            {"elements", t.elements},
                            {"first_step", t.first_step}});
  j["not_swept"] = nlohmann::json::array();
  for (const SkippedTensor& s : sw.skipped())
    j["not_swept"].push_back({{"name", s.name}, {"reason", s.reason}});
  j["by_bit"] = nlohmann::json::array();
  for (size_t b = 0; b < sum.by_bit.size(); ++b) {
    const BitPositionStats& st = sum.by_bit[b];
    if (st.swept == 0) continue;
    j["by_bit"].push_back({{"bit", b},
                           {"swept", st.swept},
                           {"top1_changed", st.top1_changed},
                           {"top1_share", st.top1_share()},
                           {"mean_abs", st.mean_abs()},
                           {"max_abs", st.max_abs},
                           {"nonfinite", st.nonfinite}});
  }
  return j;
}

void print_prediction(const SweepSummary& sum, double tol) {
  const Confusion& c = sum.confusion;
  const auto n = static_cast<double>(std::max<int64_t>(c.total(), 1));
  fmt::print(
      "prediction  tolerance {}: a bit is truly robust when no output moves by more than it, none "
      "turns NaN/Inf and no top-1 changes\n",
      tol);
  fmt::print(
      "            predicted robust      {:>10} ({:.2f}%), of which false-robust {} "
      "(reader outputs moved >= tol: {})\n",
      c.robust_robust + c.false_robust, 100.0 * (c.robust_robust + c.false_robust) / n,
      c.false_robust, c.false_robust_consumer);
  fmt::print(
      "            predicted non-robust  {:>10} ({:.2f}%), of which truly robust "
      "(conservative) {} ({:.2f}% of all)\n\n",
      c.conservative + c.nonrobust_nonrobust, 100.0 * (c.conservative + c.nonrobust_nonrobust) / n,
      c.conservative, 100.0 * c.conservative / n);
}

void print_table(const Sweep& sw, const SweepSummary& sum) {
  for (const SweepTensor& t : sw.tensors())
    if (t.folded)
      fmt::print(
          "folded      '{}' ({} elements) is a constant folded at plan time: swept as such\n",
          t.name, t.elements);
  for (const SkippedTensor& s : sw.skipped())
    fmt::print("not swept   '{}': {}\n", s.name, s.reason);
  fmt::print("\n{:>3}  {:>9}  {:>8}  {:>12}  {:>12}  {:>9}\n", "bit", "swept", "top1 chg",
             "mean |dy|", "max |dy|", "nan/inf");
  for (size_t b = 0; b < sum.by_bit.size(); ++b) {
    const BitPositionStats& st = sum.by_bit[b];
    if (st.swept == 0) continue;
    fmt::print("{:>3}  {:>9}  {:>7.2f}%  {:>12.4g}  {:>12.4g}  {:>9}\n", b, st.swept,
               st.top1_share() * 100, st.mean_abs(), st.max_abs, st.nonfinite);
  }
  fmt::print(
      "(top1 chg: share of flips that change the top-1 of at least one image; |dy| over "
      "finite outputs)\n\n");
}

}  // namespace

void add_sweep_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string model, bits = "0-31", out, only = "all";
    double predict = 0;
    std::vector<std::string> tensors;
    bool all_weights = false, json = false, verify = false, no_fuse = false;
    int64_t sample = 0, batch = 64, max_bits = 0;
    std::vector<int64_t> elements;
    uint64_t seed = 0;
    int threads = 0;
    InputOptions in;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("sweep", "Flip each weight bit alone and record its effect");
  c->add_option("model", args->model, "ONNX model file")->required();
  c->add_option("--tensor", args->tensors, "Weight to sweep (repeatable)");
  c->add_flag("--all-weights", args->all_weights, "Sweep every float32 weight a step reads");
  c->add_option("--sample", args->sample, "Sweep N (element, bit) pairs drawn uniformly");
  c->add_option("--element", args->elements,
                "Only this element of each --tensor (repeatable): with --bits, a targeted flip");
  c->add_option("--bits", args->bits, "Bit positions, e.g. 0-31 or 23-30,31")
      ->capture_default_str();
  // Default: --data fashion-mnist. Labels are not read: a sweep compares
  // with the fault-free outputs.
  add_input_options(c, args->in, false);
  c->add_option("--batch", args->batch, "Validation images (the first B of the data)")
      ->capture_default_str();
  c->add_option("--seed", args->seed, "Seed for --sample")->capture_default_str();
  c->add_option("--out", args->out, "Per-bit records: FILE.csv or FILE.jsonl");
  c->add_option("--threads", args->threads, "Threads (default: all cores)");
  c->add_option("--max-bits", args->max_bits,
                "Sweep at most N bits this run (all ranks together), keep them in FILE.ranks/ next "
                "to --out and stop; the same command goes on from there (batch-queue slots)");
  c->add_flag("--json", args->json, "Print the per-bit-position summary as JSON");
  c->add_flag("--verify", args->verify, "Also re-run each bit from step 0 and check (slow)");
  c->add_option("--predict", args->predict,
                "Also predict each bit's robustness by bit attribution at this tolerance and "
                "count prediction against outcome (e.g. 1e-5)");
  c->add_option("--only", args->only,
                "With --predict: sweep only bits predicted 'robust' or 'nonrobust' (or 'all')")
      ->check(CLI::IsMember({"all", "robust", "nonrobust"}))
      ->capture_default_str();
  add_no_fuse_option(c, args->no_fuse);
  c->callback([args, &exit_code] {
    // Under mpirun: this process's share of the bits (eval/sweep_shard.hpp).
    eval::Shard* shard = dist::world();
    SAVE_CHECK(args->max_bits >= 0, "--max-bits must be >= 0");
    SAVE_CHECK(args->max_bits == 0 || !args->out.empty(),
               "--max-bits needs --out FILE.csv or FILE.jsonl: the bits swept so far are kept "
               "next to it (FILE.ranks/) for the next run");
    // Without a launcher, --max-bits takes the resumable path as one rank.
    eval::OneProcessShard one_process;
    if (!shard && args->max_bits > 0) shard = &one_process;
    // Every rank sees the same arguments: an error here is every rank's.
    if (shard && args->out.empty())
      throw eval::CollectiveError(
          "save sweep under mpirun needs --out FILE.csv or FILE.jsonl: the ranks keep their "
          "partial logs next to it (FILE.ranks/) and rank 0 merges them into it");
    SAVE_CHECK(args->all_weights || !args->tensors.empty(), "give --tensor NAME or --all-weights");
    SAVE_CHECK(args->sample >= 0, "--sample must be >= 0");
    // The set-up, on the leader first under mpirun (an error in it, a bad
    // tensor name, is reported once and every rank stops).
    std::unique_ptr<Session> session;
    std::optional<Dataset> ds;
    int64_t batch = 0;
    std::unique_ptr<Sweep> sweep;
    auto set_up = [&]() -> std::string {
      if (!args->out.empty()) RecordWriter::check_path(args->out);
      SessionOptions so;
      so.threads = args->threads;
      so.passes.enabled = !args->no_fuse;
      session = std::make_unique<Session>(import_onnx_file(args->model), so);
      InputOptions in = args->in;
      if (!in.has_data()) in.data = "fashion-mnist";
      ds = load_input_set(session->graph(), in);
      batch = std::min(effective_batch(*ds, args->batch), ds->size());
      check_model_takes(*session, *ds, batch);
      SweepOptions opts;
      opts.tensors = args->tensors;
      opts.all_weights = args->all_weights;
      opts.bit_positions = parse_bit_positions(args->bits);
      opts.sample = args->sample;
      opts.elements = args->elements;
      opts.seed = args->seed;
      opts.verify = args->verify;
      opts.predict_tolerance = args->predict;
      opts.only = args->only == "robust"      ? SweepOptions::Only::kPredictedRobust
                  : args->only == "nonrobust" ? SweepOptions::Only::kPredictedNonRobust
                                              : SweepOptions::Only::kAll;
      sweep = std::make_unique<Sweep>(*session, batch_of(*ds, 0, batch), opts);
      return "";
    };
    if (shard)
      eval::leader_first(*shard, set_up);
    else
      set_up();
    Sweep& sw = *sweep;

    std::unique_ptr<RecordWriter> writer;
    SweepSummary sum;
    if (shard) {
      eval::ShardedSweep spec;
      spec.out = args->out;
      // What the records depend on: a log written under other arguments
      // (or another model) is refused instead of merged. Not --max-bits: a
      // run stopped by it goes on under any limit.
      nlohmann::json ctx{{"model_sha256", file_sha256(args->model)},
                         {"data", ds->source},
                         {"batch", batch},
                         {"tensors", args->tensors},
                         {"all_weights", args->all_weights},
                         {"bits", args->bits},
                         {"sample", args->sample},
                         {"seed", args->seed},
                         {"elements", args->elements},
                         {"predict", args->predict},
                         {"only", args->only},
                         {"no_fuse", args->no_fuse},
                         {"threads", args->threads}};
      spec.context = sha256_hex(ctx.dump()).substr(0, 16);
      spec.tolerance = args->predict;
      spec.max_bits = args->max_bits;
      // Rank 0's bar counts its own share (about 1/N of the bits).
      std::shared_ptr<eval::Progress> bar;
      const int64_t share = static_cast<int64_t>(sw.planned_bits()) / shard->size();
      int64_t done = 0;
      if (shard->leader()) {
        bar = std::make_shared<eval::Progress>(share, stderr, eval::Progress::stderr_is_tty());
        spec.on_bit = [bar, &done, share](const SweepTensor&, const BitEffect&) {
          bar->tick(std::min(++done, share), "bits");
        };
      }
      spec.on_record = [&](const SweepTensor& t, const BitEffect& e) {
        if (!writer) writer = std::make_unique<RecordWriter>(args->out);
        writer->write(t, e);
      };
      spec.commit = [&] {
        if (!writer) writer = std::make_unique<RecordWriter>(args->out);  // no bits planned
        writer->commit();
      };
      eval::ShardedSweepOutcome r = eval::run_sweep_sharded(sw, *shard, spec);
      exit_code = 0;
      if (!shard->leader()) return;
      if (!r.complete) {
        const int64_t have = r.ran + r.recorded;
        fmt::print(stderr,
                   "ranks       {}: stopped at --max-bits {}: {} bits swept now, {} of {} kept "
                   "in {}.ranks/; run the same command again to go on\n",
                   shard->size(), args->max_bits, r.ran, have, sw.planned_bits(), args->out);
        if (args->json)
          fmt::print("{}\n", nlohmann::json{{"complete", false},
                                            {"swept_now", r.ran},
                                            {"kept", have},
                                            {"planned_bits", sw.planned_bits()}}
                                 .dump(2));
        return;
      }
      sum = r.summary;
      fmt::print(stderr, "ranks       {}: {} bits swept now, {} already in {}.ranks/\n",
                 shard->size(), r.ran, r.recorded, args->out);
    } else {
      if (!args->out.empty()) writer = std::make_unique<RecordWriter>(args->out);
      eval::Progress bar(static_cast<int64_t>(sw.planned_bits()), stderr,
                         eval::Progress::stderr_is_tty());
      int64_t done = 0;
      sum = sw.run([&](const SweepTensor& t, const BitEffect& e) {
        if (writer) writer->write(t, e);
        bar.tick(++done, "bits");
      });
      if (writer) writer->commit();
    }

    if (args->json) {
      fmt::print("{}\n",
                 summary_json(args->model, sw, sum, batch, args->seed, args->predict).dump(2));
    } else {
      fmt::print("model       {}\n", args->model);
      fmt::print("inputs      first {} samples of {}, threads {}\n", batch, ds->source,
                 args->threads > 0 ? args->threads : omp_get_max_threads());
      fmt::print("swept       {} of {} bits in {} tensors{}\n", sum.bits, sw.population_bits(),
                 sw.tensors().size(),
                 sw.sampled() ? fmt::format(" (uniform sample, seed {})", args->seed) : "");
      print_table(sw, sum);
      if (args->predict > 0) print_prediction(sum, args->predict);
      fmt::print(
          "speed       {:.1f} bits/s ({} bits in {:.2f} s; {} re-runs ended early, the change "
          "gone; {} steps skipped, their inputs unchanged)\n",
          sum.bits_per_second(), sum.bits, sum.seconds, sum.stopped_early, sum.skipped_steps);
      if (writer) fmt::print("records     written to {}\n", args->out);
    }
    exit_code = 0;
  });
}

}  // namespace save::cli
