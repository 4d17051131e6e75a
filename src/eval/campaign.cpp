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

// Reads each sample's answer straight from the plan's output buffers (no
// copies, no allocation): top-1 of output 0's row, and whether any float
// output row holds a NaN/Inf.
class Scorer {
 public:
  explicit Scorer(const Graph& g) : graph_(g) {}

  // Writes top-1 of rows [0, rows) to top1[0..rows); returns the NaN/Inf rows.
  int64_t score(const Plan& plan, int64_t rows, int64_t* top1) const {
    TensorView out = plan.view(graph_.outputs[0]);
    SAVE_CHECK(out.dtype == DType::kF32 && out.rank() >= 1 && out.dim(0) == rows,
               "campaigns need a float32 first output with the batch as its first dimension "
               "(got {} of shape {})",
               dtype_name(out.dtype), shape_str(out.shape));
    int64_t k = rows > 0 ? out.numel() / rows : 0;
    const float* p = out.ptr<const float>();
    for (int64_t r = 0; r < rows; ++r) top1[r] = argmax(p + r * k, k);
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; ++r) bad += row_nonfinite(plan, r, rows);
    return bad;
  }

 private:
  // First index of the largest finite-or-inf value; NaNs never win; -1
  // when the whole row is NaN (never equal to a golden answer).
  static int64_t argmax(const float* p, int64_t k) {
    int64_t best = -1;
    float bv = 0;
    for (int64_t i = 0; i < k; ++i)
      if (!std::isnan(p[i]) && (best < 0 || p[i] > bv)) best = i, bv = p[i];
    return best;
  }

  bool row_nonfinite(const Plan& plan, int64_t r, int64_t rows) const {
    for (ValueId v : graph_.outputs) {
      TensorView o = plan.view(v);
      if (o.dtype != DType::kF32 || o.rank() == 0 || o.dim(0) != rows) continue;
      int64_t k = o.numel() / rows;
      const float* p = o.ptr<const float>() + r * k;
      for (int64_t i = 0; i < k; ++i)
        if (!std::isfinite(p[i])) return true;
    }
    return false;
  }

  const Graph& graph_;
};

struct Batches {
  std::vector<std::vector<Tensor>> inputs;  // one single-input list per batch
  std::vector<int64_t> begin;               // first sample of each batch
  int64_t samples = 0;
};

Batches make_batches(const Dataset& data, int64_t samples, int64_t batch) {
  Batches b;
  b.samples = samples;
  for (int64_t s = 0; s < samples; s += batch) {
    b.begin.push_back(s);
    b.inputs.push_back({slice_rows(data.images, s, std::min(samples, s + batch))});
  }
  return b;
}

int64_t rows_of(const Batches& b, size_t i) {
  int64_t end = i + 1 < b.begin.size() ? b.begin[i + 1] : b.samples;
  return end - b.begin[i];
}

// The fault-free top-1 of every sample, computed (in memory: the folder is
// claimed only once this worked, so a model that cannot run these inputs
// leaves nothing behind).
std::vector<int64_t> golden_run(Session& session, const Batches& batches, const Scorer& scorer) {
  session.set_hooks(nullptr);
  session.restore_constants();
  std::vector<int64_t> top1(static_cast<size_t>(batches.samples));
  for (size_t i = 0; i < batches.inputs.size(); ++i) {
    Plan& plan = session.load_inputs(batches.inputs[i]);
    session.execute(plan);
    scorer.score(plan, rows_of(batches, i), top1.data() + batches.begin[i]);
  }
  return top1;
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
  const std::vector<int64_t>& golden;
  const std::vector<int64_t>& labels;  // empty: unlabelled
  save::protect::Protection& protection;
  std::vector<int64_t> top1;   // reused across batches
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
  st.session.set_hooks(&chain);
  int64_t correct = 0;
  st.lat_ms.clear();
  try {
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
        ++r.kernel_errors;
        std::fill(st.top1.begin(), st.top1.begin() + rows, -1);
      } else {
        r.nan_inf += st.scorer.score(plan, rows, st.top1.data());
      }
      for (int64_t k = 0; k < rows; ++k) {
        r.sdc += st.top1[k] != st.golden[b0 + k];
        if (!st.labels.empty()) correct += st.top1[k] == st.labels[b0 + k];
      }
    }
  } catch (...) {
    st.session.set_hooks(nullptr);
    injector.end_trial();
    throw;
  }
  st.session.set_hooks(nullptr);
  save::protect::ProtectionCounts pc = st.protection.end_trial();
  r.detections = pc.detections;
  r.false_alarms = pc.false_alarms;
  r.recoveries = pc.recoveries;
  r.uncorrectable = pc.uncorrectable;
  r.restarts = pc.restarts;
  r.reexecuted_steps = pc.reexecuted_steps;
  r.reliable_bytes = pc.reliable_bytes;
  r.check_ms = pc.check_ms;
  r.bits_flipped = static_cast<int64_t>(injector.applied().size());
  for (const FlipRecord& f : injector.applied()) r.weight_bits += f.weight;
  injector.end_trial();

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
  SAVE_CHECK(session.graph().inputs.size() == 1,
             "campaigns feed a single-input model; this one has {} inputs",
             session.graph().inputs.size());
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

  // What the results depend on. The golden run depends on all but the seed.
  nlohmann::json inputs_key = {{"model_sha256", spec.model_sha256},
                               {"data", spec.data},
                               {"data_sha256", data_hash(spec.data)},
                               {"labels", spec.labels},
                               {"labels_sha256", data_hash(spec.labels)},
                               {"samples", samples},
                               {"batch", spec.batch},
                               // The graph as it runs: fused or as written.
                               {"passes", session.graph().passes}};
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

  Batches batches = make_batches(data, samples, spec.batch);
  Scorer scorer(session.graph());
  std::string golden_path =
      (fs::path(spec.out_dir) / fmt::format("golden-{}.npy", hex64(fnv1a64(inputs_key.dump()))))
          .string();
  std::optional<std::vector<int64_t>> cached = read_golden(golden_path, samples);
  std::vector<int64_t> golden = cached ? *cached : golden_run(session, batches, scorer);
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
  if (!cached) {
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
    for (int64_t i = 0; i < samples; ++i) c += golden[i] == labels[i];
    golden_accuracy = static_cast<double>(c) / static_cast<double>(samples);
  }

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
  RunState st{session, batches, scorer, golden, labels, *protection, {}, {}};
  st.top1.resize(static_cast<size_t>(spec.batch));
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
