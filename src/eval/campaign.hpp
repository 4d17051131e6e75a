// Fault-injection campaigns (`save inject`): for each flip count, T trials
// of the whole input set under one fault model, each scored against a
// cached golden (fault-free) run. Every finished trial is appended to
// DIR/trials.jsonl before the next starts, so a killed campaign re-run with
// the same arguments resumes where it stopped; at the end the summary,
// CSV, markdown report, timings and plot are (re)written from that log.
//
// A campaign folder belongs to one model, input set, batch size and seed
// (DIR/campaign.json); runs that differ there are refused. Series that
// differ in protection mode or fault model (pattern, scenario, target, bits
// per word) may share a folder: the summary then lists them side by side.
// The summary covers every trial recorded in the folder (a later run with
// fewer --trials or other --flips does not hide earlier points).
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "eval/sdc_metric.hpp"
#include "exec/session.hpp"
#include "inject/injector.hpp"
#include "protect/mode.hpp"

namespace save::eval {

class Progress;

// The most trials one campaign runs (trials x distinct flip counts): the
// to-do list is built up front, and a count no machine finishes
// (`--trials 3000000000`) is refused at once instead of filling memory.
inline constexpr int64_t kMaxCampaignTrials = 1'000'000;

struct CampaignSpec {
  std::string model_path;    // as given: reported, not part of any key
  std::string model_sha256;  // keys the campaign and the golden cache
  std::string data;    // "fashion-mnist", a .npy path or the --input list (keyed by content too)
  std::string labels;  // labels .npy, or ""
  int64_t limit = 0;   // first N samples; 0: all
  int64_t batch = 64;
  int threads = 0;  // reported only (0: OpenMP's default)
  uint64_t seed = 0;
  std::vector<int64_t> flips;  // flip events per trial, one point each
  int64_t trials = 1;
  FaultConfig fault;  // pattern, scenario, target, bits_per_word, burst_length
  // --sdc-metric: how each output's SDC is judged (empty: the automatic
  // choice, eval/sdc_metric.hpp).
  SdcMetricChoice sdc_metrics;
  std::string protect = "none";
  save::protect::ProtectionOptions protect_opts;  // what the mode needs to set itself up
  std::string out_dir;
  // Stop after this many newly run trials (-1: no limit). Tests use it to
  // stand for a kill; the summary is then written over what is recorded.
  int64_t max_new_trials = -1;
  std::FILE* progress = stderr;  // null: silent
  bool progress_tty = false;
  // `save eval`: one bar over many campaigns (null: this campaign draws its
  // own on `progress`).
  Progress* shared_progress = nullptr;
  // A mode already set up on the session given to run_campaign (profiled or
  // analysed once, reused by many campaigns); null: make spec.protect here.
  save::protect::Protection* protection = nullptr;
  // Run only these (flips, trial) of the to-do list (null: all): one rank's
  // share of a campaign spread over several processes (eval/shard.hpp).
  const std::set<std::pair<int64_t, int64_t>>* only = nullptr;
};

struct CampaignOutcome {
  nlohmann::json summary;   // summary.json: deterministic, no wall-clock fields
  nlohmann::json timings;   // timings.json: latencies and throughput per point
  nlohmann::json combined;  // summary with the timings merged in (--json)
  int64_t ran = 0;          // trials run by this call
  int64_t skipped = 0;      // requested trials found already recorded
  bool complete = false;    // every requested trial is recorded
  // The requested (flips, trial) not recorded when this call returned, in
  // the order a one-process run takes them.
  std::vector<std::pair<int64_t, int64_t>> todo;
};

// Runs (or resumes) the campaign on `session` over the first `limit`
// samples of `data`, every model input fed per batch (data/dataset.hpp:
// batch_of). Each sample is scored per output against the fault-free run
// (eval/sdc_metric.hpp); summary.json lists the metric per output and the
// SDC rate per output and point. Throws Error on bad arguments, labels outside the
// model's classes, a folder that holds another campaign or an evaluation,
// a golden cache that fails its checksum, or a folder another process is
// writing (DIR/.save.lock). Nothing is written to the folder before the
// inputs were checked and the fault-free run worked.
CampaignOutcome run_campaign(const CampaignSpec& spec, Session& session, const Dataset& data);

}  // namespace save::eval
