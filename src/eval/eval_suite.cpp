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
#include "data/dataset.hpp"
#include "data/input_spec.hpp"
#include "data/ood.hpp"
#include "eval/campaign.hpp"
#include "eval/files.hpp"
#include "eval/interleaved_latency.hpp"
#include "eval/progress.hpp"
#include "eval/report.hpp"
#include "eval/shard.hpp"
#include "eval/svg.hpp"
#include "eval/trial.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
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
  std::unique_ptr<Protection> protection;
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

// check_folder only reads (it runs before the modes are set up, so that a
// wrong folder is refused early); claim_folder writes, once everything that
// can refuse the inputs has run.
bool check_folder(const EvalSpec& s, const json& context) {
  std::error_code ec;
  if (!fs::exists(s.out_dir, ec)) return false;
  SAVE_CHECK(fs::is_directory(s.out_dir, ec), "--out '{}' exists and is not a folder", s.out_dir);
  refuse_other_kind(s.out_dir, FolderKind::kEval);
  std::string path = join_dir(s.out_dir, "eval.json");
  std::string text = read_file_or_empty(path);
  if (text.empty()) return false;
  json old = json::parse(text, nullptr, false);
  SAVE_CHECK(!old.is_discarded(), "{} is not valid JSON; remove it or use another --out", path);
  // The model's path is reported, not compared: the same file by another
  // path (or copied elsewhere) is the same model.
  json a = old, b = context;
  a.erase("model"), b.erase("model");
  if (a == b) return true;
  if (!any_trials_below(s.out_dir)) return false;
  SAVE_CHECK(old.value("model_sha256", "") == context["model_sha256"],
             "{} holds an evaluation of another model ({}, sha256 {}); use another --out folder",
             s.out_dir, old.value("model", "?"), old.value("model_sha256", "?"));
  fail(
      "{} holds an evaluation of this model with other inputs (folder: {}; this run: {}); results "
      "would mix: use another --out folder or the same data, --limit, --batch, --seed and "
      "--ood-samples (--quick sets its own)",
      s.out_dir, old.dump(), context.dump());
}

void claim_folder(const EvalSpec& s, const json& context) {
  if (!check_folder(s, context))
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
                                 const ProtectionOptions& opts) {
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
      adapt_session_options(m.protect, so);
      m.session = std::make_unique<Session>(import_onnx_file(m.model_path), so);
      // What save's reliable budget is a share of, so the two agree.
      m.inference_bytes = protect::inference_memory_bytes(m.session->plan_for(one_batch));
      ProtectionOptions o = opts;
      o.model_sha256 = m.model_sha256;  // a --plan for another model is refused
      m.protection = make_protection(m.protect, *m.session, o);
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

CampaignSpec campaign_spec(const EvalSpec& s, ModeRun& m, const ProtectionOptions& opts,
                           Progress& bar) {
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
  const ProtectionOptions& opts;
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

// ---- reporting --------------------------------------------------------

std::string pct(const json& v, int digits = 2) {
  if (v.is_null()) return "n/a";
  return fmt::format("{:.{}f}%", v.get<double>() * 100, digits);
}

std::string num(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return fmt::format("{:.9g}", v.get<double>());
}

std::string bytes_text(int64_t b) {
  if (b < 10 * 1024) return fmt::format("{} B", b);
  if (b < 10 * 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024 * 1024));
}

const json* point_at(const json& mode, const std::string& scenario, int64_t flips) {
  for (const json& p : mode["points"])
    if (p["scenario"] == scenario && p["flips"] == flips) return &p;
  return nullptr;
}

// What "x none" divides by without interleaved timing: the mean of none's
// fault-free latencies over the scenarios (those runs do the same work).
std::optional<double> none_latency(const json& results) {
  double sum = 0;
  int n = 0;
  for (const json& m : results["modes"])
    if (m["mode"] == "none" && m["status"] == "ran")
      for (const json& p : m["points"])
        if (p["flips"] == 0 && p.contains("latency_ms")) sum += p["latency_ms"].get<double>(), ++n;
  if (n == 0 || sum <= 0) return std::nullopt;
  return sum / n;
}

// A mode's own fault-free latency in `scenario`'s campaign (the mean over
// its scenarios when that campaign has no fault-free point).
std::optional<double> own_clean_latency(const json& m, const json& scenario) {
  double sum = 0;
  int n = 0;
  for (const json& p : m["points"])
    if (p["flips"] == 0 && p.contains("latency_ms")) {
      if (p["scenario"] == scenario) return p["latency_ms"].get<double>();
      sum += p["latency_ms"].get<double>(), ++n;
    }
  if (n == 0 || sum <= 0) return std::nullopt;
  return sum / n;
}

// Adds "x none" and the reliable share to every point. With interleaved
// timing (results["latency"]), a point's x none is the mode's interleaved
// fault-free ratio times what the flips cost it inside its own campaign
// (the point's AccurateLatency over the campaign's fault-free latency, run
// minutes apart at most): machine noise between modes no longer enters.
void add_ratios(json& results) {
  std::optional<double> ref = none_latency(results);
  results["none_latency_ms"] = ref ? json(*ref) : json();
  const json& lat = results["latency"];
  for (json& m : results["modes"]) {
    if (m["status"] != "ran") continue;
    double mem = m["inference_bytes"].get<double>();
    std::optional<double> ratio;
    if (!lat.is_null() && lat["modes"].contains(m["mode"].get<std::string>()))
      ratio = lat["modes"][m["mode"].get<std::string>()]["vs_none"]["median"].get<double>();
    for (json& p : m["points"]) {
      json x;
      if (p.contains("accurate_latency_ms")) {
        std::optional<double> own = own_clean_latency(m, p["scenario"]);
        if (ratio && own)
          x = *ratio * p["accurate_latency_ms"].get<double>() / *own;
        else if (!ratio && ref)
          x = p["accurate_latency_ms"].get<double>() / *ref;
      }
      p["accurate_latency_vs_none"] = x;
      p["reliable_fraction"] = mem > 0 ? json(p["reliable_bytes"].get<double>() / mem) : json();
    }
  }
}

int64_t headline_flips(const EvalSpec& s) {
  if (std::find(s.flips.begin(), s.flips.end(), kHeadlineFlips) != s.flips.end())
    return kHeadlineFlips;
  return *std::max_element(s.flips.begin(), s.flips.end());
}

std::string results_csv(const json& r) {
  static const char* kCols[] = {"trials",
                                "accuracy_mean",
                                "accuracy_min",
                                "accuracy_max",
                                "sdc_rate",
                                "nan_inf",
                                "detections",
                                "false_alarms",
                                "recoveries",
                                "uncorrectable",
                                "latency_ms",
                                "accurate_latency_ms",
                                "accurate_latency_vs_none",
                                "reliable_bytes",
                                "reliable_fraction"};
  std::string out = "mode,scenario,target,set,flips,samples";
  for (const char* k : kCols) out += fmt::format(",{}", k);
  out += "\n";
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    std::string mode = m["mode"].get<std::string>();
    for (const json& p : m["points"]) {
      out += fmt::format("{},{},{},,{},{}", mode, p["scenario"].get<std::string>(),
                         p["target"].get<std::string>(), num(p["flips"]), num(r["samples"]));
      for (const char* k : kCols) {
        out += ',';
        if (p.contains(k)) out += num(p[k]);
      }
      out += "\n";
    }
    // OOD rows: fault-free, scenario "ood"; SDC = wrong outputs / samples.
    for (const json& o : m["ood"]) {
      out += fmt::format("{},ood,,{},0,{}", mode, o["set"].get<std::string>(), num(o["samples"]));
      for (const char* k : kCols) {
        std::string key = k;
        out += ",";
        if (key == "trials")
          out += "1";
        else if (o.contains(key))
          out += num(o[key]);
      }
      out += "\n";
    }
  }
  return out;
}

// The interleaved timing: per mode, its median latency and its ratio to
// none's with quartiles over the rounds.
std::string latency_md(const json& r) {
  const json& lat = r["latency"];
  if (lat.is_null())
    return "\nNo interleaved timing (`none` did not run, or the campaigns are incomplete): x none "
           "divides by the mean of none's fault-free campaign latencies, measured mode after "
           "mode.\n";
  std::string md = fmt::format(
      "\n## Latency, fault-free, interleaved\n\n{} rounds; in each, every mode runs the same {} "
      "batch(es) once, the order rotating by one mode per round (after one untimed warm-up "
      "pass). ms: median over rounds of the median per batch; x none: median over rounds of "
      "the mode's time over none's in the same round, with quartiles.\n\n| mode | ms/batch | x "
      "none | quartiles | false alarms |\n|---|---:|---:|---|---:|\n",
      num(lat["rounds"]), num(lat["batches"]));
  for (const json& name : lat["context"]["modes"]) {
    const std::string mode = name.get<std::string>();
    const json& m = lat["modes"][mode];
    md += fmt::format("| {} | {:.3f} | {:.3f}x | {:.3f} - {:.3f} | {} |\n", mode,
                      m["median_ms"].get<double>(), m["vs_none"]["median"].get<double>(),
                      m["vs_none"]["q1"].get<double>(), m["vs_none"]["q3"].get<double>(),
                      num(m["false_alarms"]));
  }
  return md;
}

std::string report_md(const json& r, const std::vector<OodSetInfo>& sets) {
  std::string md = fmt::format("# SAVE evaluation: `{}`\n\n", r["model"].get<std::string>());
  md += fmt::format("- model sha256 `{}`\n", r["model_sha256"].get<std::string>());
  md += fmt::format("- inputs: `{}`, {} samples, batch {}{}\n", r["data"].get<std::string>(),
                    num(r["samples"]), num(r["batch"]),
                    r["quick"].get<bool>() ? " (`--quick` subset)" : "");
  md += fmt::format(
      "- faults: pattern random; flips {} per trial; {} trial(s) per point; accumulated flips "
      "target the weights, streaming flips weights and activations; seed {}\n",
      fmt::join(r["flips"].get<std::vector<int64_t>>(), ", "), num(r["trials"]), num(r["seed"]));
  if (r.contains("ood_skipped"))
    md += fmt::format("- **out-of-distribution sets not run**: {}\n",
                      r["ood_skipped"].get<std::string>());
  else
    md += fmt::format("- out-of-distribution sets: {} inputs each, fault-free\n",
                      num(r["ood_samples"]));
  const json& mc = r["machine"];
  md += fmt::format("- machine: {}, {}, threads: {}; whole eval {:.1f} s\n",
                    mc["hostname"].get<std::string>(), mc["cpu"].get<std::string>(),
                    num(mc["threads"]), r["seconds"].get<double>());
  for (const json& m : r["modes"])
    if (m["status"] != "ran")
      md += fmt::format("- **{} not run**: {}\n", m["mode"].get<std::string>(),
                        m["note"].get<std::string>());
  md +=
      "\n## Accuracy, SDC, cost\n\n| mode | scenario | flips | accuracy mean (min - max) | SDC "
      "rate | NaN/Inf | detections | false alarms | recoveries | latency ms/batch | "
      "AccurateLatency ms | x none fault-free | reliable memory |\n"
      "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    for (const json& p : m["points"]) {
      std::string acc = p["accuracy_mean"].is_null()
                            ? "n/a"
                            : fmt::format("{} ({} - {})", pct(p["accuracy_mean"]),
                                          pct(p["accuracy_min"]), pct(p["accuracy_max"]));
      auto opt = [&](const char* k, const char* f) {
        return p.contains(k) && !p[k].is_null() ? fmt::format(fmt::runtime(f), p[k].get<double>())
                                                : std::string("n/a");
      };
      md += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
          m["mode"].get<std::string>(), p["scenario"].get<std::string>(), num(p["flips"]), acc,
          pct(p["sdc_rate"]), num(p["nan_inf"]), num(p["detections"]), num(p["false_alarms"]),
          num(p["recoveries"]), opt("latency_ms", "{:.3f}"), opt("accurate_latency_ms", "{:.3f}"),
          opt("accurate_latency_vs_none", "{:.2f}x"),
          bytes_text(p["reliable_bytes"].get<int64_t>()), pct(p["reliable_fraction"], 3));
    }
  }
  md +=
      "\nCounts are totals over the trials. False alarms are detections while no flip had "
      "landed. AccurateLatency = latency x (1 + SDC rate), latency being the median per batch of "
      "each trial. x none: the mode's fault-free latency over `none`'s, measured in interleaved "
      "rounds (below), times the point's AccurateLatency over the mode's own fault-free latency "
      "in the same campaign (what the flips cost it). Reliable memory is the most a trial used, "
      "and its share of inference memory (one batch's weights and activation arena).\n";
  md += latency_md(r);
  if (!sets.empty()) {
    md += "\n## Out-of-distribution inputs (fault-free)\n\nfalse alarms / wrong outputs per set: ";
    md +=
        "a false alarm is a detection (there is no fault); a wrong output is an answer that "
        "differs from the unprotected model's (a wrong patch).\n\n| mode |";
    std::string rule = "|---|";
    for (const OodSetInfo& s : sets) md += " " + s.name + " |", rule += "---:|";
    md += "\n" + rule + "\n";
    for (const json& m : r["modes"]) {
      if (m["status"] != "ran") continue;
      md += "| " + m["mode"].get<std::string>() + " |";
      for (const OodSetInfo& s : sets) {
        std::string cell = " - ";
        for (const json& o : m["ood"])
          if (o["set"] == s.name)
            cell = fmt::format(" {} / {} ", num(o["false_alarms"]), num(o["wrong_outputs"]));
        md += cell + "|";
      }
      md += "\n";
    }
    md += "\n";
    for (const OodSetInfo& s : sets) md += fmt::format("- {}: {}\n", s.name, s.description);
  }
  md += "\n## Plots\n\n";
  for (const json& sc : r["scenarios"])
    md += fmt::format("![accuracy vs flips, {0}](accuracy_vs_flips_{0}.svg)\n\n",
                      sc.get<std::string>());
  md += "![AccurateLatency per mode](accurate_latency.svg)\n\n";
  if (!sets.empty()) md += "![false alarms on out-of-distribution inputs](ood_false_alarms.svg)\n";
  return md;
}

json plot_summary(const json& r, json series) {
  return {{"model", fs::path(r["model"].get<std::string>()).filename().string()},
          {"samples", r["samples"]},
          {"seed", r["seed"]},
          {"golden_accuracy", r["golden_accuracy"]},
          {"series", std::move(series)}};
}

std::string latency_svg(const json& r, int64_t flips) {
  BarChart c;
  c.title = fmt::format("AccurateLatency per mode ({})",
                        fs::path(r["model"].get<std::string>()).filename().string());
  c.y_label = "AccurateLatency, ms per batch";
  c.note = "latency x (1 + SDC rate)";
  std::vector<std::pair<std::string, int64_t>> bars;
  for (const json& sc : r["scenarios"]) {
    std::string name = sc.get<std::string>();
    if (bars.empty()) bars.emplace_back(name, 0);  // fault-free: once is enough
    if (flips > 0) bars.emplace_back(name, flips);
  }
  for (const auto& [sc, f] : bars) {
    c.series.push_back(f == 0 ? std::string("fault-free") : fmt::format("{} flips, {}", f, sc));
    c.values.emplace_back();
  }
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    c.categories.push_back(m["mode"].get<std::string>());
    for (size_t i = 0; i < bars.size(); ++i) {
      const json* p = point_at(m, bars[i].first, bars[i].second);
      c.values[i].push_back(p && p->contains("accurate_latency_ms")
                                ? std::optional<double>((*p)["accurate_latency_ms"].get<double>())
                                : std::nullopt);
    }
  }
  return bar_svg(c);
}

std::string ood_svg(const json& r, const std::vector<OodSetInfo>& sets) {
  BarChart c;
  c.title = fmt::format("False alarms on out-of-distribution inputs ({} each, fault-free)",
                        num(r["ood_samples"]));
  c.y_label = "false alarms (detections without a fault)";
  c.note = "0 is the only right answer";
  for (const OodSetInfo& s : sets) c.series.push_back(s.name), c.values.emplace_back();
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    c.categories.push_back(m["mode"].get<std::string>());
    for (size_t i = 0; i < sets.size(); ++i) {
      std::optional<double> v;
      for (const json& o : m["ood"])
        if (o["set"] == sets[i].name) v = o["false_alarms"].get<double>();
      c.values[i].push_back(v);
    }
  }
  return bar_svg(c);
}

// What the short table says about one mode. The fault-free cost is the
// mean over the scenarios (the same work); the cost under flips is the
// worse scenario: what a mode costs at best is not the question.
struct Headline {
  std::string mode;
  json clean, accumulated, streaming;      // accuracy (agreement when unlabelled)
  std::optional<double> clean_cost, cost;  // fault-free latency, AccurateLatency at F, x none
  int64_t false_alarms = 0, ood_alarms = 0, ood_wrong = 0, ood_inputs = 0, reliable = 0;
  json reliable_fraction;
};

Headline headline(const json& m, int64_t flips) {
  auto acc_at = [&](const char* sc, int64_t f) -> json {
    const json* p = point_at(m, sc, f);
    if (!p) return json();
    return (*p)["accuracy_mean"].is_null() ? json(1 - (*p)["sdc_rate"].get<double>())
                                           : (*p)["accuracy_mean"];
  };
  Headline h;
  h.mode = m["mode"].get<std::string>();
  h.clean = acc_at("accumulated", 0);
  if (h.clean.is_null()) h.clean = acc_at("streaming", 0);
  h.accumulated = acc_at("accumulated", flips);
  h.streaming = acc_at("streaming", flips);
  double clean_sum = 0;
  int clean_n = 0;
  for (const json& p : m["points"]) {
    const json& x = p["accurate_latency_vs_none"];
    if (!x.is_null() && p["flips"] == flips) h.cost = std::max(h.cost.value_or(0), x.get<double>());
    if (!x.is_null() && p["flips"] == 0) clean_sum += x.get<double>(), ++clean_n;
    if (p["flips"] == 0) h.false_alarms += p["false_alarms"].get<int64_t>();
    if (p["reliable_bytes"].get<int64_t>() >= h.reliable) {
      h.reliable = p["reliable_bytes"].get<int64_t>();
      h.reliable_fraction = p["reliable_fraction"];
    }
  }
  if (clean_n > 0) h.clean_cost = clean_sum / clean_n;
  h.false_alarms += m.value("latency_false_alarms", int64_t{0});
  for (const json& o : m["ood"]) {
    h.ood_alarms += o["false_alarms"].get<int64_t>();
    h.ood_wrong += o["wrong_outputs"].get<int64_t>();
    h.ood_inputs += o["samples"].get<int64_t>();
  }
  return h;
}

std::string times(const std::optional<double>& x) {
  return x ? fmt::format("{:.2f}x", *x) : "n/a";
}

// The terminal table: per mode, what a newcomer needs to see (does accuracy
// survive the headline flip count, what does it cost, does it cry wolf),
// then the story in two sentences: unprotected collapses, SAVE holds.
std::string short_table(const json& r, int64_t flips) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"mode", "fault-free acc", fmt::format("acc @{} accum.", flips),
                  fmt::format("acc @{} stream.", flips), "latency x none",
                  fmt::format("AccLat @{} x none", flips), "false alarms", "OOD alarms/wrong",
                  "reliable mem"});
  std::map<std::string, Headline> by_mode;
  std::string skipped;
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") {
      skipped += fmt::format("{} not run: {}\n", m["mode"].get<std::string>(),
                             m["note"].get<std::string>());
      continue;
    }
    Headline h = headline(m, flips);
    rows.push_back(
        {h.mode, pct(h.clean, 1), pct(h.accumulated, 1), pct(h.streaming, 1), times(h.clean_cost),
         times(h.cost), std::to_string(h.false_alarms),
         h.ood_inputs ? fmt::format("{}/{} of {}", h.ood_alarms, h.ood_wrong, h.ood_inputs) : "-",
         bytes_text(h.reliable)});
    by_mode[h.mode] = h;
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i)
      out += i == 0 ? fmt::format("{:<{}}", row[i], w[i]) : fmt::format("  {:>{}}", row[i], w[i]);
    out += "\n";
  }
  out += fmt::format(
      "acc: top-1 accuracy (agreement with the fault-free answers when unlabelled).\n"
      "latency x none: fault-free latency over none's (median of interleaved rounds). AccLat "
      "@{0}:\n"
      "  AccurateLatency = latency x (1 + SDC rate) at {0} flips (the worse scenario), x none.\n"
      "false alarms: detections in fault-free runs. OOD: out-of-distribution inputs, fault-free;\n"
      "  wrong = answers that differ from the unprotected model's.\n",
      flips);
  out += skipped;
  if (auto it = by_mode.find("none"); it != by_mode.end())
    out += fmt::format(
        "\nUnprotected (none): {} fault-free, {} / {} with {} bit flips (accumulated / "
        "streaming).\n",
        pct(it->second.clean, 1), pct(it->second.accumulated, 1), pct(it->second.streaming, 1),
        flips);
  if (auto it = by_mode.find("save"); it != by_mode.end()) {
    const Headline& h = it->second;
    out += fmt::format("SAVE: {} fault-free, {} / {} with {} bit flips", pct(h.clean, 1),
                       pct(h.accumulated, 1), pct(h.streaming, 1), flips);
    if (h.clean_cost && h.cost)
      out += fmt::format("; fault-free latency {} none's, AccurateLatency {}", times(h.clean_cost),
                         times(h.cost));
    out += fmt::format("; {} false alarms on clean inputs", h.false_alarms);
    if (h.ood_inputs > 0)
      out += fmt::format(", {} on {} out-of-distribution inputs", h.ood_alarms, h.ood_inputs);
    out += fmt::format("; reliable memory {} ({} of inference memory).\n", bytes_text(h.reliable),
                       pct(h.reliable_fraction, 2));
  }
  return out;
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
  static const std::vector<std::string> modes = {"none",   "save",  "dmr",  "tmr",   "ecc",
                                                 "ranger", "drdna", "abft", "rednet"};
  return modes;
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
  check_folder(spec, context);

  ProtectionOptions opts = spec.protect_opts;
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
    claim_folder(spec, context);
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
