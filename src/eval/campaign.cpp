#include "eval/campaign.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/stats.hpp"
#include "data/npy.hpp"
#include "eval/files.hpp"
#include "eval/progress.hpp"
#include "eval/report.hpp"
#include "eval/sdc_metric.hpp"
#include "eval/svg.hpp"
#include "eval/trial_log.hpp"
#include "exec/hook_chain.hpp"
#include "modes/registry.hpp"
#include "protect/mode.hpp"

namespace save::eval {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The content hash of a data file, "" for a named set ("fashion-mnist"),
// whose files are system packages.
std::string data_hash(const std::string& spec) {
  std::error_code ec;
  if (spec.empty() || !fs::is_regular_file(spec, ec)) return "";
  return file_sha256(spec);
}

// Scores each sample straight from the plan's output buffers (no copies):
// every float32 output with the batch as its first dimension is scored
// under its metric (eval/sdc_metric.hpp); output 0's top-1 is kept for
// accuracy against labels.
class Scorer {
 public:
  Scorer(const Graph& g, const Plan& first, int64_t rows, const SdcMetricChoice& choice)
      : graph_(g) {
    for (size_t o = 0; o < g.outputs.size(); ++o) {
      TensorView out = first.view(g.outputs[o]);
      if (out.dtype != DType::kF32 || out.rank() == 0 || out.dim(0) != rows || rows == 0) continue;
      const std::string& name = g.values[g.outputs[o]].name;
      outs_.emplace_back(name, choice.for_output(name, Shape(out.shape.begin(), out.shape.end())),
                         out.numel() / rows);
      which_.push_back(o);
    }
    SAVE_CHECK(!outs_.empty(),
               "campaigns need a float32 output with the batch as its first dimension (output "
               "'{}' is {} of shape {})",
               g.values[g.outputs[0]].name, dtype_name(first.view(g.outputs[0]).dtype),
               shape_str(first.view(g.outputs[0]).shape));
    std::vector<std::string> names;
    for (ValueId v : g.outputs) names.push_back(g.values[v].name);
    check_sdc_outputs(choice, names);
  }

  // The campaigns before per-output metrics scored output 0 alone by
  // top-1 and cached its golden answers: such a campaign keeps its cache
  // and its folder key.
  bool legacy() const {
    return outs_.size() == 1 && which_[0] == 0 && outs_[0].metric().kind == SdcMetric::Kind::kTop1;
  }
  std::vector<OutputScore>& outputs() { return outs_; }
  const std::vector<OutputScore>& outputs() const { return outs_; }
  // {"name": "top1", ...}: what the summary reports and the folder keys.
  nlohmann::json metrics_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (const OutputScore& o : outs_) j[o.name()] = o.metric().name();
    return j;
  }

  void add_golden(const Plan& plan, int64_t first, int64_t rows) {
    for (size_t k = 0; k < outs_.size(); ++k)
      outs_[k].add_golden(plan.view(graph_.outputs[which_[k]]).ptr<const float>(), first, rows);
    // Output 0's top-1, for the fault-free accuracy.
    const TensorView o0 = plan.view(graph_.outputs[0]);
    if (o0.dtype == DType::kF32 && o0.rank() >= 1 && o0.dim(0) == rows && rows > 0) {
      const int64_t k = o0.numel() / rows;
      golden_top1_.resize(static_cast<size_t>(first + rows), -1);
      for (int64_t r = 0; r < rows; ++r)
        golden_top1_[static_cast<size_t>(first + r)] = top1(o0.ptr<const float>() + r * k, k);
    }
  }
  const std::vector<int64_t>& golden_top1() const { return golden_top1_; }
  void set_golden_top1(std::vector<int64_t> t) { golden_top1_ = std::move(t); }

  // Scores rows [0, rows) of a batch whose first sample is `b0`: sets
  // sdc[r] (any output), adds each output's SDC rows to `per_output`,
  // writes output 0's top-1 to top1[r]; returns the rows holding a NaN/Inf.
  int64_t score(const Plan& plan, int64_t b0, int64_t rows, uint8_t* sdc, int64_t* top1_out,
                std::vector<int64_t>& per_output) const {
    std::fill(sdc, sdc + rows, 0);
    std::vector<uint8_t> bad(static_cast<size_t>(rows), 0);
    for (size_t k = 0; k < outs_.size(); ++k) {
      const float* p = plan.view(graph_.outputs[which_[k]]).ptr<const float>();
      const int64_t n = outs_[k].row_size();
      for (int64_t r = 0; r < rows; ++r) {
        int64_t t = -1;
        const bool wrong = outs_[k].is_sdc(p + r * n, b0 + r, &t);
        sdc[r] |= wrong;
        per_output[k] += wrong;
        bad[static_cast<size_t>(r)] |= has_nonfinite(p + r * n, n);
      }
    }
    const TensorView o0 = plan.view(graph_.outputs[0]);
    const int64_t k0 =
        o0.dtype == DType::kF32 && o0.rank() >= 1 && rows > 0 ? o0.numel() / rows : 0;
    for (int64_t r = 0; r < rows; ++r)
      top1_out[r] = k0 > 0 ? top1(o0.ptr<const float>() + r * k0, k0) : -1;
    int64_t nonfinite = 0;
    for (uint8_t b : bad) nonfinite += b;
    return nonfinite;
  }

 private:
  const Graph& graph_;
  std::vector<OutputScore> outs_;
  std::vector<size_t> which_;         // index into graph.outputs per scored output
  std::vector<int64_t> golden_top1_;  // output 0, every sample
};

struct Batches {
  std::vector<std::vector<Tensor>> inputs;  // every model input, per batch
  std::vector<int64_t> begin;               // first sample of each batch
  int64_t samples = 0;
};

Batches make_batches(const Dataset& data, int64_t samples, int64_t batch) {
  Batches b;
  b.samples = samples;
  for (int64_t s = 0; s < samples; s += batch) {
    b.begin.push_back(s);
    b.inputs.push_back(batch_of(data, s, std::min(samples, s + batch)));
  }
  return b;
}

int64_t rows_of(const Batches& b, size_t i) {
  int64_t end = i + 1 < b.begin.size() ? b.begin[i + 1] : b.samples;
  return end - b.begin[i];
}

// The fault-free outputs of every sample, recorded in the scorer (in
// memory: the folder is claimed only once this worked, so a model that
// cannot run these inputs leaves nothing behind).
void golden_run(Session& session, const Batches& batches, Scorer& scorer) {
  session.set_hooks(nullptr);
  session.restore_constants();
  for (size_t i = 0; i < batches.inputs.size(); ++i) {
    Plan& plan = session.load_inputs(batches.inputs[i]);
    session.execute(plan);
    scorer.add_golden(plan, batches.begin[i], rows_of(batches, i));
  }
  for (OutputScore& o : scorer.outputs()) o.finish_golden();
}

std::string golden_sum_path(const std::string& golden_path) {
  return golden_path + ".sha256";
}

// The cached golden answers in `path` when present: verified against the
// checksum written with them (a cache overwritten with zeros would score
// every trial against wrong answers). nullopt when there is no cache.
std::optional<std::vector<int64_t>> read_golden(const std::string& path, int64_t samples) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::string sum = read_file_or_empty(golden_sum_path(path));
  while (!sum.empty() && (sum.back() == '\n' || sum.back() == ' ')) sum.pop_back();
  if (sum.empty()) return std::nullopt;  // an older folder: recompute, then compare
  SAVE_CHECK(file_sha256(path) == sum,
             "the golden-output cache '{}' does not match its checksum ({}): it was changed or "
             "is corrupt; remove it (it is recomputed) or use another --out folder",
             path, golden_sum_path(path));
  Tensor t = read_npy(path);
  SAVE_CHECK(t.dtype() == DType::kI64 && t.rank() == 1 && t.shape()[0] == samples,
             "the golden-output cache '{}' holds {} of shape {}, this campaign needs int64 of "
             "shape [{}]; remove it or use another --out folder",
             path, dtype_name(t.dtype()), shape_str(t.shape()), samples);
  return std::vector<int64_t>(t.ptr<int64_t>(), t.ptr<int64_t>() + samples);
}

void write_golden(const std::string& path, const std::vector<int64_t>& golden) {
  Tensor t = Tensor::from<int64_t>({static_cast<int64_t>(golden.size())}, golden);
  write_npy(path, t);
  write_file_atomic(golden_sum_path(path), file_sha256(path) + "\n");
}

// Whether DIR already holds trial records (then its claim is binding; a
// folder claimed by a run that recorded nothing may be claimed afresh).
bool has_trials(const std::string& dir) {
  std::error_code ec;
  return fs::file_size(fs::path(dir) / "trials.jsonl", ec) > 0 && !ec;
}

// Refuses a folder that holds another campaign (or an evaluation). Reads
// only: the folder is written once the inputs are known to be good.
void check_folder(const std::string& dir, const nlohmann::json& context) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  SAVE_CHECK(fs::is_directory(dir, ec), "--out '{}' exists and is not a folder", dir);
  refuse_other_kind(dir, FolderKind::kCampaign);
  std::string path = (fs::path(dir) / "campaign.json").string();
  std::string text = read_file_or_empty(path);
  if (text.empty() || !has_trials(dir)) return;
  nlohmann::json old = nlohmann::json::parse(text, nullptr, false);
  SAVE_CHECK(!old.is_discarded(), "{} is not valid JSON; remove it or use another --out", path);
  std::vector<std::string> diffs;
  for (auto& [k, v] : context.items())
    if (k != "context_id" && (!old.contains(k) || old[k] != v))
      diffs.push_back(fmt::format("{}: folder has {}, this run {}", k,
                                  old.contains(k) ? old[k].dump() : "nothing", v.dump()));
  SAVE_CHECK(diffs.empty(),
             "{} holds another campaign ({}); results would mix: use another --out folder or "
             "the same model, data, --limit, --batch and --seed",
             dir, fmt::join(diffs, "; "));
}

// Records this campaign in DIR (under the lock; checked again there, as
// another process may have claimed it since). A folder with no trial
// records drops what an earlier, failed claim left.
void claim_folder(const std::string& dir, const nlohmann::json& context) {
  check_folder(dir, context);
  std::string path = (fs::path(dir) / "campaign.json").string();
  std::string text = read_file_or_empty(path);
  if (!text.empty() && has_trials(dir)) return;
  if (!text.empty() && nlohmann::json::parse(text, nullptr, false) != context)
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().starts_with("golden-")) fs::remove(e.path());
  write_file_atomic(path, context.dump(2) + "\n");
}

struct RunState {
  Session& session;
  const Batches& batches;
  const Scorer& scorer;
  const std::vector<int64_t>& labels;  // empty: unlabelled
  save::protect::Protection& protection;
  std::vector<int64_t> top1;   // reused across batches
  std::vector<uint8_t> sdc;    // reused across batches
  std::vector<double> lat_ms;  // reused across trials
};

TrialResult run_trial(RunState& st, const Series& series, const FaultConfig& cfg, int64_t trial,
                      uint64_t seed) {
  auto t_trial = Clock::now();
  TrialResult r;
  r.series = series;
  r.flips = cfg.flips;
  r.trial = trial;
  r.trial_seed = trial_seed(seed, series, cfg.flips, trial);
  r.samples = st.batches.samples;

  Injector injector(st.session, cfg);
  HookChain chain({&injector, st.protection.hooks()});
  // Every batch shape's plan exists before the flips land (the injector
  // mirrors accumulated flips of per-plan folded constants into each plan).
  for (const auto& in : st.batches.inputs) st.session.plan_for(in);
  Plan& first = st.session.plan_for(st.batches.inputs[0]);
  st.protection.prepare(st.session);  // reliable placement, before any flip
  injector.begin_trial(first, r.trial_seed, static_cast<int64_t>(st.batches.inputs.size()));
  st.protection.begin_trial(&injector);
  int64_t correct = 0;
  st.lat_ms.clear();
  std::vector<int64_t> per_output(st.scorer.outputs().size(), 0);
  try {
    ScopedHooks hooked(st.session, &chain);
    for (size_t i = 0; i < st.batches.inputs.size(); ++i) {
      auto t0 = Clock::now();
      Plan& plan = st.session.load_inputs(st.batches.inputs[i]);
      // A flipped index can make a kernel refuse its data: under flips that
      // batch is delivered wrong (as a crash would be), and the trial goes on.
      bool refused = false;
      try {
        st.session.execute(plan);
      } catch (const Error&) {
        if (injector.applied().empty()) throw;
        refused = true;
      }
      st.lat_ms.push_back(ms_since(t0));
      int64_t rows = rows_of(st.batches, i), b0 = st.batches.begin[i];
      if (refused) {
        // Every row of a refused batch is wrong in every output.
        ++r.kernel_errors;
        std::fill(st.top1.begin(), st.top1.begin() + rows, -1);
        std::fill(st.sdc.begin(), st.sdc.begin() + rows, 1);
        for (int64_t& c : per_output) c += rows;
      } else {
        r.nan_inf += st.scorer.score(plan, b0, rows, st.sdc.data(), st.top1.data(), per_output);
      }
      for (int64_t k = 0; k < rows; ++k) {
        r.sdc += st.sdc[k];
        if (!st.labels.empty()) correct += st.top1[k] >= 0 && st.top1[k] == st.labels[b0 + k];
      }
    }
  } catch (...) {
    injector.end_trial();  // the hooks are already off (ScopedHooks)
    throw;
  }
  save::protect::ProtectionCounts pc = st.protection.end_trial();
  r.detections = pc.detections;
  r.false_alarms = pc.false_alarms;
  r.recoveries = pc.recoveries;
  r.uncorrectable = pc.uncorrectable;
  r.restarts = pc.restarts;
  r.reexecuted_steps = pc.reexecuted_steps;
  r.corrections = pc.corrections;
  r.reliable_bytes = pc.reliable_bytes;
  r.check_ms = pc.check_ms;
  r.bits_flipped = static_cast<int64_t>(injector.applied().size());
  for (const FlipRecord& f : injector.applied()) r.weight_bits += f.weight;
  injector.end_trial();

  for (size_t k = 0; k < per_output.size(); ++k)
    r.sdc_by_output[st.scorer.outputs()[k].name()] = per_output[k];
  double n = static_cast<double>(r.samples);
  if (!st.labels.empty()) r.accuracy = static_cast<double>(correct) / n;
  r.sdc_rate = static_cast<double>(r.sdc) / n;
  r.latency_ms = median(st.lat_ms);
  r.accurate_latency_ms = r.latency_ms * (1 + r.sdc_rate);
  r.seconds = ms_since(t_trial) / 1000;
  r.throughput_per_s = r.seconds > 0 ? n / r.seconds : 0;
  return r;
}

std::string result_text(const TrialResult& r) {
  std::string s = r.accuracy ? fmt::format("acc {:.4f} ", *r.accuracy) : "";
  return s + fmt::format("sdc {:.4f} nan/inf {} bits {}", r.sdc_rate, r.nan_inf, r.bits_flipped);
}

}  // namespace

CampaignOutcome run_campaign(const CampaignSpec& spec, Session& session, const Dataset& data) {
  SAVE_CHECK(spec.batch > 0, "--batch must be positive");
  SAVE_CHECK(spec.trials >= 0, "--trials must be >= 0");
  SAVE_CHECK(!spec.flips.empty(), "give at least one flip count (--flips 0,1,16)");
  for (int64_t f : spec.flips) SAVE_CHECK(f >= 0, "flip counts must be >= 0 (got {})", f);
  SAVE_CHECK(!spec.out_dir.empty(), "give an output folder (--out DIR)");
  SAVE_CHECK(
      !(spec.fault.scenario == Scenario::kAccumulated && spec.fault.target == Target::kActivations),
      "the accumulated scenario flips resident weights; use --target weights or all "
      "(activations only exist during a run: use --scenario streaming)");
  std::unique_ptr<save::protect::Protection> owned =
      spec.protection ? std::unique_ptr<save::protect::Protection>()
                      : modes::make_protection(spec.protect, session, [&] {
                          save::protect::ProtectionOptions o = spec.protect_opts;
                          if (o.model_sha256.empty()) o.model_sha256 = spec.model_sha256;
                          if (o.batch <= 0) o.batch = spec.batch;
                          return o;
                        }());
  save::protect::Protection* protection = spec.protection ? spec.protection : owned.get();
  Series series = Series::from(protection->name(), spec.fault);

  int64_t samples = data.size();
  if (spec.limit > 0) samples = std::min(samples, spec.limit);
  SAVE_CHECK(samples > 0, "the input set '{}' is empty", spec.data);
  std::vector<int64_t> labels;
  if (!data.labels.empty()) {
    SAVE_CHECK(static_cast<int64_t>(data.labels.size()) >= samples, "{} labels for {} samples",
               data.labels.size(), samples);
    labels.assign(data.labels.begin(), data.labels.begin() + samples);
  }

  // The batches, and the outputs scored at the first one's plan (planning
  // writes nothing; a shape the model cannot take is refused here).
  Batches batches = make_batches(data, samples, spec.batch);
  Scorer scorer(session.graph(), session.plan_for(batches.inputs[0]), rows_of(batches, 0),
                spec.sdc_metrics);

  // What the results depend on. The golden run depends on all but the seed.
  nlohmann::json inputs_key = {
      {"model_sha256", spec.model_sha256},
      {"data", spec.data},
      {"data_sha256", data.sha256.empty() ? data_hash(spec.data) : data.sha256},
      {"labels", spec.labels},
      {"labels_sha256", data_hash(spec.labels)},
      {"samples", samples},
      {"batch", spec.batch},
      // The graph as it runs: fused or as written.
      {"passes", session.graph().passes}};
  // Campaigns that score more than output 0's top-1 are keyed by their
  // metrics too (a legacy one keeps its key, so its folder still resumes).
  if (!scorer.legacy()) inputs_key["sdc_metrics"] = scorer.metrics_json();
  nlohmann::json context = inputs_key;
  context["format"] = 1;
  context["seed"] = spec.seed;
  std::string context_id = hex64(fnv1a64(context.dump()));
  context["context_id"] = context_id;
  // Every check that can refuse these inputs runs before the folder is
  // created or written, so a failed run leaves nothing that refuses the
  // corrected one.
  check_folder(spec.out_dir, context);
  // The trials to run are listed up front: a count no machine could run is
  // refused here instead of filling memory.
  std::set<int64_t> distinct(spec.flips.begin(), spec.flips.end());
  SAVE_CHECK(spec.trials <= kMaxCampaignTrials / static_cast<int64_t>(distinct.size()),
             "--trials {} with {} flip counts asks for more than {} trials, the most one campaign "
             "runs; split it over several --out folders or seeds",
             spec.trials, distinct.size(), kMaxCampaignTrials);

  // Output 0's golden top-1 answers are cached in the folder for a legacy
  // campaign (checksummed); any other runs the fault-free pass each time
  // (its golden rows are not cached).
  std::string golden_path =
      (fs::path(spec.out_dir) / fmt::format("golden-{}.npy", hex64(fnv1a64(inputs_key.dump()))))
          .string();
  std::optional<std::vector<int64_t>> cached;
  if (scorer.legacy()) cached = read_golden(golden_path, samples);
  if (cached) {
    scorer.outputs()[0].set_golden_top1(*cached);
    scorer.set_golden_top1(*cached);
  } else {
    golden_run(session, batches, scorer);
  }
  const std::vector<int64_t>& golden = scorer.golden_top1();
  if (!labels.empty()) {
    // Labels are class indices of the first output.
    TensorView out = session.plan_for(batches.inputs[0]).view(session.graph().outputs[0]);
    const int64_t rows = rows_of(batches, 0);
    const int64_t classes = rows > 0 ? out.numel() / rows : 0;
    check_labels(labels, 0, samples, classes, spec.labels.empty() ? spec.data : spec.labels);
  }
  ensure_dir(spec.out_dir);
  FolderLock lock(spec.out_dir);
  claim_folder(spec.out_dir, context);
  if (!cached && scorer.legacy()) {
    // An older folder's cache without a checksum must agree with this run.
    std::error_code ec;
    if (fs::exists(golden_path, ec)) {
      Tensor old = read_npy(golden_path);
      SAVE_CHECK(old.dtype() == DType::kI64 && old.numel() == samples &&
                     std::equal(golden.begin(), golden.end(), old.ptr<int64_t>()),
                 "the golden-output cache '{}' differs from a fresh fault-free run; remove it or "
                 "use another --out folder",
                 golden_path);
    }
    write_golden(golden_path, golden);
  }
  std::optional<double> golden_accuracy;
  if (!labels.empty()) {
    int64_t c = 0;
    for (int64_t i = 0; i < samples; ++i) c += golden[i] >= 0 && golden[i] == labels[i];
    golden_accuracy = static_cast<double>(c) / static_cast<double>(samples);
  }
  int64_t golden_nonfinite = 0;
  for (const OutputScore& o : scorer.outputs()) golden_nonfinite += o.golden_nonfinite();

  TrialLog log((fs::path(spec.out_dir) / "trials.jsonl").string(), context_id);
  // The trials still to run, in a fixed order (flip counts as given, first
  // occurrence only).
  std::vector<std::pair<int64_t, int64_t>> todo;
  std::set<int64_t> seen;
  CampaignOutcome outcome;
  for (int64_t f : spec.flips) {
    if (!seen.insert(f).second) continue;
    for (int64_t t = 0; t < spec.trials; ++t) {
      TrialResult probe;
      probe.series = series;
      probe.flips = f;
      probe.trial = t;
      if (log.has(probe.key()))
        ++outcome.skipped;
      else if (!spec.only || spec.only->count({f, t}))
        todo.emplace_back(f, t);
    }
  }

  int64_t to_run = static_cast<int64_t>(todo.size());
  if (spec.max_new_trials >= 0) to_run = std::min(to_run, spec.max_new_trials);
  Progress own_progress(to_run, spec.progress, spec.progress_tty);
  Progress& progress = spec.shared_progress ? *spec.shared_progress : own_progress;
  // A shared bar counted every requested trial: drop those not run here.
  if (spec.shared_progress)
    progress.drop(outcome.skipped + static_cast<int64_t>(todo.size()) - to_run);
  RunState st{session, batches, scorer, labels, *protection, {}, {}, {}};
  st.top1.resize(static_cast<size_t>(spec.batch));
  st.sdc.resize(static_cast<size_t>(spec.batch));
  st.lat_ms.reserve(batches.inputs.size());
  for (int64_t i = 0; i < to_run; ++i) {
    auto [f, t] = todo[static_cast<size_t>(i)];
    FaultConfig cfg = spec.fault;
    cfg.flips = f;
    std::string label = fmt::format("flips={} trial={}", f, t);
    progress.start(label);
    TrialResult r = run_trial(st, series, cfg, t, spec.seed);
    log.append(r);
    progress.finish(label, result_text(r), r.seconds);
    ++outcome.ran;
  }
  if (!spec.shared_progress) progress.done();
  outcome.complete = to_run == static_cast<int64_t>(todo.size());
  outcome.todo.assign(todo.begin() + to_run, todo.end());

  nlohmann::json header = {{"model", spec.model_path},
                           {"model_sha256", spec.model_sha256},
                           {"data", spec.data},
                           {"labels", spec.labels},
                           {"samples", samples},
                           {"batch", spec.batch},
                           {"seed", spec.seed},
                           {"golden_accuracy", golden_accuracy ? nlohmann::json(*golden_accuracy)
                                                               : nlohmann::json(nullptr)},
                           // Per scored output: the metric an SDC is judged by.
                           {"sdc_metrics", scorer.metrics_json()},
                           {"golden_nonfinite_rows", golden_nonfinite},
                           {"machine", machine_info(spec.threads)}};
  outcome.summary = build_summary(header, log.records());
  outcome.timings = build_timings(log.records());
  outcome.combined = merge_timings(outcome.summary, outcome.timings);
  fs::path dir(spec.out_dir);
  write_file_atomic((dir / "summary.json").string(), outcome.summary.dump(2) + "\n");
  write_file_atomic((dir / "timings.json").string(), outcome.timings.dump(2) + "\n");
  write_file_atomic((dir / "summary.csv").string(), summary_csv(outcome.combined));
  write_file_atomic((dir / "report.md").string(), report_markdown(outcome.combined));
  write_file_atomic((dir / "accuracy_vs_flips.svg").string(), accuracy_svg(outcome.summary));
  return outcome;
}

}  // namespace save::eval
