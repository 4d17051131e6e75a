#include "eval/eval_suite.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/json_read.hpp"
#include "data/dataset.hpp"
#include "data/input_spec.hpp"
#include "data/ood.hpp"
#include "eval/campaign.hpp"
#include "eval/eval_report.hpp"
#include "eval/files.hpp"
#include "eval/interleaved_latency.hpp"
#include "eval/progress.hpp"
#include "eval/report.hpp"
#include "eval/shard.hpp"
#include "eval/svg.hpp"
#include "eval/trial.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "modes/registry.hpp"
#include "protect/allocation.hpp"

namespace save::eval {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The flip count the short table and the latency plot single out: the
// paper's headline point when the run has it.
constexpr int64_t kHeadlineFlips = 4096;

// One mode, set up once: its profiling or analysis is reused by all of its
// campaigns.
struct ModeRun {
  std::string mode;
  std::string protect;  // what runs: the mode, or `none` for rednet
  std::string model_path, model_sha256;
  std::string note;  // why it does not run ("": it runs)
  std::unique_ptr<Session> session;
  std::unique_ptr<save::protect::Protection> protection;
  int64_t inference_bytes = 0;  // one batch's weights + activation arena
  std::optional<double> golden_accuracy;
  json points = json::array();  // per (scenario, flips)
  json ood = json::array();     // per out-of-distribution set
};

struct OodSet {
  std::string name, description;
  Dataset data;
};

std::string join_dir(const std::string& a, const std::string& b) {
  return (fs::path(a) / b).string();
}

void note(const EvalSpec& s, const std::string& text) {
  if (s.progress) fmt::print(s.progress, "note: {}\n", text);
}

void validate(const EvalSpec& s) {
  SAVE_CHECK(!s.out_dir.empty(), "give an output folder (--out DIR)");
  SAVE_CHECK(s.trials >= 1, "--trials must be >= 1 (got {})", s.trials);
  SAVE_CHECK(s.batch >= 1, "--batch must be >= 1 (got {})", s.batch);
  SAVE_CHECK(s.limit >= 0, "--limit must be >= 0 (got {})", s.limit);
  SAVE_CHECK(s.ood_samples >= 0, "--ood-samples must be >= 0 (got {})", s.ood_samples);
  SAVE_CHECK(s.latency_rounds >= 1 && s.latency_rounds <= 1000,
             "--latency-rounds must be in 1..1000 (got {})", s.latency_rounds);
  SAVE_CHECK(s.latency_batches >= 1 && s.latency_batches <= 1000,
             "--latency-batches must be in 1..1000 (got {})", s.latency_batches);
  SAVE_CHECK(!s.flips.empty(), "give at least one flip count");
  for (int64_t f : s.flips) SAVE_CHECK(f >= 0, "flip counts must be >= 0 (got {})", f);
  SAVE_CHECK(!s.scenarios.empty(), "give at least one scenario");
  const std::set<int64_t> distinct(s.flips.begin(), s.flips.end());
  SAVE_CHECK(s.trials <= kMaxCampaignTrials / static_cast<int64_t>(distinct.size()),
             "--trials {} with {} flip counts asks for more than {} trials per campaign; use "
             "fewer",
             s.trials, distinct.size(), kMaxCampaignTrials);
  std::set<std::string> seen;
  for (const std::string& m : s.modes) {
    SAVE_CHECK(std::find(eval_modes().begin(), eval_modes().end(), m) != eval_modes().end(),
               "unknown mode '{}' in --modes (known: {})", m, fmt::join(eval_modes(), ", "));
    SAVE_CHECK(seen.insert(m).second, "mode '{}' is listed twice in --modes", m);
  }
}

// DIR/eval.json: what every campaign below DIR depends on. A folder that
// holds an evaluation of another model or input set is refused before any
// mode is set up (its campaign folders would refuse too, but later and one
// by one).
// Whether any campaign below `dir` recorded a trial (a folder whose claim
// recorded nothing, e.g. one whose labels were refused, may be claimed
// afresh by corrected inputs).
bool any_trials_below(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->path().filename() == "trials.jsonl" && it->file_size(ec) > 0) return true;
  return false;
}

// check_eval_folder only reads (it runs before the modes are set up, so that a
// wrong folder is refused early); claim_eval_folder writes, once everything that
// can refuse the inputs has run.
bool check_eval_folder(const EvalSpec& s, const json& context) {
  std::error_code ec;
  if (!fs::exists(s.out_dir, ec)) return false;
  SAVE_CHECK(fs::is_directory(s.out_dir, ec), "--out '{}' exists and is not a folder", s.out_dir);
  refuse_other_kind(s.out_dir, FolderKind::kEval);
  std::string path = join_dir(s.out_dir, "eval.json");
  std::string text = read_file_or_empty(path);
  if (text.empty()) return false;
  json old = json::parse(text, nullptr, false);
  SAVE_CHECK(!old.is_discarded() && old.is_object(),
             "{} is not a JSON object; remove it or use another --out", path);
  // The model's path is reported, not compared: the same file by another
  // path (or copied elsewhere) is the same model.
  json a = old, b = context;
  a.erase("model"), b.erase("model");
  if (a == b) return true;
  if (!any_trials_below(s.out_dir)) return false;
  SAVE_CHECK(field_or(old, "model_sha256", std::string()) == context["model_sha256"],
             "{} holds an evaluation of another model ({}, sha256 {}); use another --out folder",
             s.out_dir, field_or(old, "model", std::string("?")),
             field_or(old, "model_sha256", std::string("?")));
  fail(
      "{} holds an evaluation of this model with other inputs (folder: {}; this run: {}); results "
      "would mix: use another --out folder or the same data, --limit, --batch, --seed and "
      "--ood-samples (--quick sets its own)",
      s.out_dir, old.dump(), context.dump());
}

void claim_eval_folder(const EvalSpec& s, const json& context) {
  if (!check_eval_folder(s, context))
    write_file_atomic(join_dir(s.out_dir, "eval.json"), context.dump(2) + "\n");
}

// The OOD sets, or none with the reason in `why` (--ood-samples 0, or
// inputs outside [0, 1], which the sets are defined inside).
std::vector<OodSet> make_ood_sets(const EvalSpec& s, const Dataset& clean, std::string& why) {
  std::vector<OodSet> sets;
  if (s.ood_samples == 0) {
    why = "--ood-samples 0";
    return sets;
  }
  if (clean.inputs.size() > 1) {
    // The sets are transformed images (data/ood.hpp): one image input.
    why = fmt::format("the sets transform a single image input; this model has {} inputs",
                      clean.inputs.size());
    note(s, fmt::format("out-of-distribution sets skipped: {}", why));
    return sets;
  }
  try {
    for (const OodSetInfo& info : ood_sets()) {
      Dataset d;
      d.images = make_ood_inputs(info.name, clean.images, s.ood_samples, s.seed);
      d.source = "ood:" + info.name;
      sets.push_back({info.name, info.description, std::move(d)});
    }
  } catch (const Error& e) {
    why = e.what();
    note(s, fmt::format("out-of-distribution sets skipped: {}", why));
    sets.clear();
  }
  return sets;
}

// Sets up each mode. A mode that cannot run is an Error when named in
// --modes, and skipped with a note when the modes are the default.
std::vector<ModeRun> setup_modes(const EvalSpec& s, const std::string& model_sha256,
                                 const std::vector<Tensor>& one_batch,
                                 const save::protect::ProtectionOptions& opts) {
  bool named = !s.modes.empty();
  std::vector<ModeRun> runs;
  for (const std::string& mode : named ? s.modes : eval_modes()) {
    ModeRun m;
    m.mode = mode;
    m.protect = mode == "rednet" ? "none" : mode;
    m.model_path = s.model_path;
    m.model_sha256 = model_sha256;
    try {
      if (mode == "rednet") {
        // RedNet is the model retrained with a bounded activation: a
        // different file, run unprotected.
        fs::path p = fs::path(s.model_path);
        p = p.parent_path() / (p.stem().string() + "-rednet.onnx");
        std::error_code ec;
        SAVE_CHECK(fs::is_regular_file(p, ec),
                   "no RedNet model: {} not found (RedNet needs the model retrained with its "
                   "bounded activation, saved next to the model as <stem>-rednet.onnx)",
                   p.string());
        m.model_path = p.string();
        m.model_sha256 = file_sha256(m.model_path);
      }
      SessionOptions so;
      so.threads = s.threads;
      so.passes.enabled = s.fuse;
      modes::adapt_session_options(m.protect, so);
      m.session = std::make_unique<Session>(import_onnx_file(m.model_path), so);
      // What save's reliable budget is a share of, so the two agree.
      m.inference_bytes = protect::inference_memory_bytes(m.session->plan_for(one_batch));
      save::protect::ProtectionOptions o = opts;
      o.model_sha256 = m.model_sha256;  // a --plan for another model is refused
      m.protection = modes::make_protection(m.protect, *m.session, o);
    } catch (const Error& e) {
      SAVE_CHECK(!named, "mode '{}' cannot run: {} (drop it from --modes)", mode, e.what());
      m.note = e.what();
      m.session.reset();
      note(s, fmt::format("mode '{}' skipped: {}", mode, m.note));
    }
    runs.push_back(std::move(m));
  }
  return runs;
}

CampaignSpec campaign_spec(const EvalSpec& s, ModeRun& m,
                           const save::protect::ProtectionOptions& opts, Progress& bar) {
  CampaignSpec c;
  c.model_path = m.model_path;
  c.model_sha256 = m.model_sha256;
  c.data = s.data;
  c.labels = s.labels;
  c.sdc_metrics = s.sdc_metrics;
  c.limit = s.limit;
  c.batch = s.batch;
  c.threads = s.threads;
  c.seed = s.seed;
  c.flips = s.flips;
  c.trials = s.trials;
  c.fault.pattern = Pattern::kRandom;
  c.protect = m.protect;
  c.protect_opts = opts;
  c.protection = m.protection.get();
  c.progress = s.progress;
  c.progress_tty = s.progress_tty;
  c.shared_progress = &bar;
  return c;
}

// The campaign's series for `c` with only the requested flip counts (the
// folder may hold more from an earlier run); no points when none of its
// trials is recorded yet (a stopped run).
json requested_series(const CampaignOutcome& o, const CampaignSpec& c) {
  std::string id = Series::from(c.protect, c.fault).id();
  std::set<int64_t> want(c.flips.begin(), c.flips.end());
  json out = {{"series", id}, {"points", json::array()}};
  for (const json& s : o.combined["series"]) {
    if (s["series"] != id) continue;
    out = s;
    out["points"] = json::array();
    for (const json& p : s["points"])
      if (want.count(p["flips"].get<int64_t>())) out["points"].push_back(p);
  }
  return out;
}

struct Runner {
  const EvalSpec& s;
  const save::protect::ProtectionOptions& opts;
  Progress& bar;
  int64_t ran = 0, skipped = 0;
  bool complete = true;
  // Sharded evals (eval/shard.hpp): campaign i, in the order run_mode
  // meets them, runs on rank i % N (`own_only`); afterwards the leader
  // goes over every campaign again with `collect` (nothing new runs, each
  // summary is read back from its log).
  size_t index = 0;
  bool own_only = false, collect = false;

  CampaignOutcome run(CampaignSpec c, ModeRun& m, const Dataset& data, const std::string& label) {
    if (own_only && !s.shard->owns(index++)) {
      // Another rank's: no points here, and off this rank's bar.
      bar.drop(static_cast<int64_t>(std::set<int64_t>(c.flips.begin(), c.flips.end()).size()) *
               c.trials);
      CampaignOutcome none;
      none.combined = {{"golden_accuracy", nullptr}, {"series", json::array()}};
      return none;
    }
    if (s.max_new_trials >= 0) c.max_new_trials = std::max<int64_t>(0, s.max_new_trials - ran);
    if (collect) c.max_new_trials = 0;
    bar.set_prefix(label + " ");
    CampaignOutcome o = run_campaign(c, *m.session, data);
    ran += o.ran;
    skipped += o.skipped;
    complete = complete && o.complete;
    return o;
  }
};

// One mode: a campaign per scenario, then one per OOD set. `all_series`
// collects each scenario's series (mode renamed: rednet runs as `none`).
void run_mode(Runner& r, ModeRun& m, const Dataset& clean, const std::vector<OodSet>& ood,
              std::map<std::string, json>& all_series) {
  for (Scenario sc : r.s.scenarios) {
    CampaignSpec c = campaign_spec(r.s, m, r.opts, r.bar);
    c.fault.scenario = sc;
    // Accumulated flips sit in resident memory before the run: the weights.
    c.fault.target = sc == Scenario::kAccumulated ? Target::kWeights : Target::kAll;
    c.out_dir = join_dir(join_dir(r.s.out_dir, m.mode), to_string(sc));
    CampaignOutcome o = r.run(c, m, clean, fmt::format("{} {}", m.mode, to_string(sc)));
    const json& ga = o.combined["golden_accuracy"];
    if (!ga.is_null()) m.golden_accuracy = ga.get<double>();
    json series = requested_series(o, c);
    if (series["points"].empty()) continue;  // stopped before it ran (tests)
    series["mode"] = m.mode;
    for (json p : series["points"]) {
      p["scenario"] = to_string(sc);
      p["target"] = to_string(c.fault.target);
      m.points.push_back(std::move(p));
    }
    all_series[to_string(sc)].push_back(std::move(series));
  }
  for (const OodSet& set : ood) {
    CampaignSpec c = campaign_spec(r.s, m, r.opts, r.bar);
    // Fault-free: every detection is a false alarm; the golden is this
    // model run unprotected, so SDC counts the wrong patches.
    c.data = fmt::format("ood:{}:{}", set.name, r.s.data);
    c.labels.clear();
    c.limit = 0;
    c.flips = {0};
    c.trials = 1;
    c.out_dir = join_dir(join_dir(r.s.out_dir, m.mode), "ood-" + set.name);
    CampaignOutcome o = r.run(c, m, set.data, fmt::format("{} ood {}", m.mode, set.name));
    json series = requested_series(o, c);
    if (series["points"].empty()) continue;  // stopped before it ran (tests)
    const json& p = series["points"][0];
    int64_t n = set.data.size();
    m.ood.push_back(
        {{"set", set.name},
         {"samples", n},
         {"detections", p["detections"]},
         {"false_alarms", p["false_alarms"]},
         {"wrong_outputs", std::llround(p["sdc_rate"].get<double>() * static_cast<double>(n))},
         {"sdc_rate", p["sdc_rate"]},
         {"nan_inf", p["nan_inf"]},
         {"latency_ms", p.value("latency_ms", json())}});
  }
}

// ---- latency ----------------------------------------------------------

// Every mode that ran, timed fault-free in interleaved rounds
// (eval/interleaved_latency.hpp). Kept in DIR/latency.json and reused when
// a later run asks for the same modes and settings, so that a resumed eval
// with nothing left to run gives the same results. Null when `none` did
// not run (nothing to divide by) or the campaigns are incomplete (a
// stopped run times nothing: the next one will).
json interleaved_latency(const EvalSpec& s, const std::vector<ModeRun>& modes, const Dataset& clean,
                         int64_t samples, bool complete) {
  std::vector<LatencyEntrant> entrants;
  std::vector<std::string> names;
  for (const ModeRun& m : modes)
    if (m.note.empty()) {
      entrants.push_back({m.mode, m.session.get(), m.protection.get()});
      names.push_back(m.mode);
    }
  if (!complete || std::find(names.begin(), names.end(), "none") == names.end()) return json();
  int64_t nb = std::min<int64_t>(s.latency_batches, (samples + s.batch - 1) / s.batch);
  json ctx = {{"modes", names},
              {"rounds", s.latency_rounds},
              {"batches", nb},
              {"batch", s.batch},
              {"threads", s.threads}};
  std::string path = join_dir(s.out_dir, "latency.json");
  json old = json::parse(read_file_or_empty(path), nullptr, false);
  if (!old.is_discarded() && old.is_object() && old.value("context", json()) == ctx) return old;

  std::vector<std::vector<Tensor>> batches;
  for (int64_t i = 0; i < nb; ++i)
    batches.push_back(batch_of(clean, i * s.batch, std::min(samples, (i + 1) * s.batch)));
  note(s, fmt::format("timing {} modes fault-free: {} interleaved rounds of {} batch(es)",
                      names.size(), s.latency_rounds, nb));
  InterleavedLatency lat = measure_interleaved(entrants, batches, s.latency_rounds, "none");
  json out = {{"context", ctx},
              {"reference", lat.reference},
              {"rounds", lat.rounds},
              {"batches", lat.batches},
              {"modes", json::object()}};
  for (const ModeLatency& m : lat.modes)
    out["modes"][m.mode] = {
        {"median_ms", m.median_ms},
        {"round_ms", m.round_ms},
        {"vs_none", {{"median", m.ratio_median}, {"q1", m.ratio_q1}, {"q3", m.ratio_q3}}},
        {"false_alarms", m.detections}};
  write_file_atomic(path, out.dump(2) + "\n");
  return out;
}

int64_t headline_flips(const EvalSpec& s) {
  if (std::find(s.flips.begin(), s.flips.end(), kHeadlineFlips) != s.flips.end())
    return kHeadlineFlips;
  return *std::max_element(s.flips.begin(), s.flips.end());
}

json mode_json(const ModeRun& m) {
  json j = {{"mode", m.mode}, {"status", m.note.empty() ? "ran" : "skipped"}};
  if (!m.note.empty()) {
    j["note"] = m.note;
    return j;
  }
  j["model"] = m.model_path;
  j["model_sha256"] = m.model_sha256;
  j["golden_accuracy"] = m.golden_accuracy ? json(*m.golden_accuracy) : json();
  j["inference_bytes"] = m.inference_bytes;
  j["points"] = m.points;
  j["ood"] = m.ood;
  return j;
}

}  // namespace

const std::vector<std::string>& eval_modes() {
  // Every protection mode of the one list, then rednet: the retrained
  // sibling model run unprotected, a row of the report, not a mode.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> m = modes::mode_names();
    m.push_back("rednet");
    return m;
  }();
  return names;
}

EvalSpec quick_spec(EvalSpec s) {
  s.quick = true;
  s.limit = 1000;
  s.trials = 1;
  s.flips = {0, 16, 256, 4096, 16384};
  s.ood_samples = 200;
  s.protect_opts.profile_samples = 2000;
  // One thread: OpenMP barriers dominate so small a model, and on a busy
  // 2-core machine two threads made the run 7x slower (174 s vs 25 s).
  s.threads = 1;
  s.latency_rounds = 7;
  return s;
}

EvalOutcome run_eval(const EvalSpec& given) {
  auto t0 = std::chrono::steady_clock::now();
  EvalSpec spec = given;  // data and batch resolved from the inputs below
  validate(spec);
  // The model itself must import: a broken file is an error, not every mode
  // skipped with a note and "0 trials run".
  const Graph graph = import_onnx_file(spec.model_path);
  std::string model_sha256 = file_sha256(spec.model_path);
  // Every model input (data/input_spec.hpp): --input files or --data.
  InputOptions io;
  io.inputs = spec.inputs;
  io.data = spec.inputs.empty() ? spec.data : "";
  io.labels = spec.labels;
  io.shapes = spec.input_shapes;
  Dataset clean = load_input_set(graph, io);
  spec.data = clean.source;
  spec.batch = effective_batch(clean, spec.batch);
  SAVE_CHECK(clean.size() > 0, "the input set '{}' is empty", spec.data);
  int64_t samples = spec.limit > 0 ? std::min(clean.size(), spec.limit) : clean.size();

  std::error_code ec;
  json context = {{"format", 1},
                  {"model", spec.model_path},
                  {"model_sha256", model_sha256},
                  {"data", spec.data},
                  {"data_sha256", clean.sha256},
                  {"labels", spec.labels},
                  {"samples", samples},
                  {"batch", spec.batch},
                  {"seed", spec.seed},
                  {"ood_samples", spec.ood_samples}};
  check_eval_folder(spec, context);

  save::protect::ProtectionOptions opts = spec.protect_opts;
  opts.batch = spec.batch;
  opts.log = spec.progress;
  // Profiling modes learn from the training set and are scored on the test
  // set, as in the papers they follow.
  if (spec.data == "fashion-mnist" && opts.profile_data == "fashion-mnist")
    opts.profile_data = "fashion-mnist-train";
  else if (!spec.inputs.empty() && opts.profile_data == "fashion-mnist") {
    // A model fed by --input has no training set here: ranger and drdna
    // profile on the clean inputs themselves (their bounds then fit the
    // very inputs they are scored on, which favours them).
    opts.profile_set = std::make_shared<const Dataset>(clean);
    opts.profile_data = "the clean inputs (" + clean.source + ")";
  }

  std::string ood_skipped;
  std::vector<OodSet> ood = make_ood_sets(spec, clean, ood_skipped);
  std::vector<ModeRun> modes =
      setup_modes(spec, model_sha256, batch_of(clean, 0, std::min(samples, spec.batch)), opts);
  std::string why_none;
  for (const ModeRun& m : modes) why_none += m.note.empty() ? "" : "; " + m.mode + ": " + m.note;
  SAVE_CHECK(
      std::any_of(modes.begin(), modes.end(), [](const ModeRun& m) { return m.note.empty(); }),
      "no protection mode can run on '{}'{}", spec.model_path, why_none);
  // Inputs and modes are good: the folder is claimed now (one writer; under
  // mpirun the leader holds the lock for the job and claims first, the
  // other ranks check the claim it wrote).
  std::optional<FolderLock> lock;
  auto claim = [&] {
    ensure_dir(spec.out_dir);
    if (!spec.shard || spec.shard->leader()) lock.emplace(spec.out_dir);
    claim_eval_folder(spec, context);
    return std::string();
  };
  if (spec.shard)
    leader_first(*spec.shard, claim);
  else
    claim();

  // The bar counts every requested trial; each campaign drops the ones it
  // finds recorded.
  std::set<int64_t> distinct(spec.flips.begin(), spec.flips.end());
  int64_t per_mode = static_cast<int64_t>(spec.scenarios.size() * distinct.size()) * spec.trials +
                     static_cast<int64_t>(ood.size());
  int64_t runnable = 0;
  for (const ModeRun& m : modes) runnable += m.note.empty();
  Progress bar(per_mode * runnable, spec.progress, spec.progress_tty);
  Runner runner{spec, opts, bar};
  std::map<std::string, json> all_series;  // scenario -> series of every mode
  if (spec.shard && spec.shard->size() > 1) {
    Runner mine{spec, opts, bar};
    mine.own_only = true;
    std::map<std::string, json> partial;
    for (ModeRun& m : modes)
      if (m.note.empty()) run_mode(mine, m, clean, ood, partial);
    int64_t ran = spec.shard->sum(mine.ran);  // also: every rank is done
    int64_t skipped = spec.shard->sum(mine.skipped);
    if (!spec.shard->leader()) {
      EvalOutcome out;
      out.ran = mine.ran;
      out.skipped = mine.skipped;
      out.complete = mine.complete;
      return out;
    }
    // Every campaign folder is complete now: read them all back.
    for (ModeRun& m : modes) m.points = json::array(), m.ood = json::array();
    Progress quiet(0, nullptr, false);
    Runner all{spec, opts, quiet};
    all.collect = true;
    for (ModeRun& m : modes)
      if (m.note.empty()) run_mode(all, m, clean, ood, all_series);
    runner.ran = ran;
    runner.skipped = skipped;
    runner.complete = all.complete;
  } else {
    for (ModeRun& m : modes)
      if (m.note.empty()) run_mode(runner, m, clean, ood, all_series);
  }
  bar.done();

  json results = context;
  results["quick"] = spec.quick;
  results["trials"] = spec.trials;
  results["flips"] = spec.flips;
  results["pattern"] = "random";
  results["scenarios"] = json::array();
  for (Scenario sc : spec.scenarios) results["scenarios"].push_back(to_string(sc));
  if (!ood_skipped.empty()) results["ood_skipped"] = ood_skipped;
  results["profile_data"] = opts.profile_data;
  results["profile_samples"] = opts.profile_samples;
  results["machine"] = machine_info(spec.threads);
  results["golden_accuracy"] = json();
  results["latency"] = interleaved_latency(spec, modes, clean, samples, runner.complete);
  results["modes"] = json::array();
  for (const ModeRun& m : modes) {
    if (m.mode == "none" && m.golden_accuracy) results["golden_accuracy"] = *m.golden_accuracy;
    results["modes"].push_back(mode_json(m));
  }
  for (json& m : results["modes"]) {
    const json& lat = results["latency"];
    if (m["status"] != "ran" || lat.is_null()) continue;
    const json& ml = lat["modes"][m["mode"].get<std::string>()];
    m["latency_vs_none"] = ml["vs_none"];
    m["latency_false_alarms"] = ml["false_alarms"];
  }
  add_ratios(results);
  results["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<OodSetInfo> set_infos;
  for (const OodSet& s : ood) set_infos.push_back({s.name, s.description});
  int64_t flips = headline_flips(spec);
  const std::string& dir = spec.out_dir;
  write_file_atomic(join_dir(dir, "results.json"), results.dump(2) + "\n");
  write_file_atomic(join_dir(dir, "results.csv"), results_csv(results));
  write_file_atomic(join_dir(dir, "report.md"), report_md(results, set_infos));
  for (auto& [sc, series] : all_series)
    write_file_atomic(join_dir(dir, fmt::format("accuracy_vs_flips_{}.svg", sc)),
                      accuracy_svg(plot_summary(results, series)));
  write_file_atomic(join_dir(dir, "accurate_latency.svg"), latency_svg(results, flips));
  if (!set_infos.empty())
    write_file_atomic(join_dir(dir, "ood_false_alarms.svg"), ood_svg(results, set_infos));

  EvalOutcome out;
  out.results = std::move(results);
  out.table = short_table(out.results, flips);
  out.ran = runner.ran;
  out.skipped = runner.skipped;
  out.complete = runner.complete;
  return out;
}

}  // namespace save::eval
