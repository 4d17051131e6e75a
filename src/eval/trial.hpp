// One trial of a campaign: its identity (series, flip count, index) and what
// it measured. A trial is one line of DIR/trials.jsonl; the summary is
// computed from these records alone, so a resumed campaign and an
// uninterrupted one summarise to the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "inject/injector.hpp"

namespace save::eval {

// What makes trials comparable: the protection mode and the fault model
// except the flip count. Fields that do not apply are normalised
// (burst_length is 0 unless the pattern is burst) so that irrelevant
// arguments do not split a series.
struct Series {
  std::string mode = "none";
  Pattern pattern = Pattern::kRandom;
  Scenario scenario = Scenario::kAccumulated;
  Target target = Target::kWeights;
  int bits_per_word = 1;
  int burst_length = 0;

  static Series from(const std::string& mode, const FaultConfig& cfg);
  // "none/random/accumulated/weights/k1" (+ "/burst16"): sorts and keys.
  std::string id() const;
  nlohmann::json to_json() const;
};

struct TrialResult {
  Series series;
  int64_t flips = 0;  // flip events requested
  int64_t trial = 0;  // index within (series, flips)
  uint64_t trial_seed = 0;
  int64_t samples = 0;
  std::optional<double> accuracy;                // when labelled
  int64_t sdc = 0;                               // samples that are an SDC in any scored output
  std::map<std::string, int64_t> sdc_by_output;  // SDC samples per scored output
  double sdc_rate = 0;
  int64_t nan_inf = 0;
  int64_t kernel_errors = 0;  // batches a kernel refused under flips (all wrong)  // samples with a
                              // NaN/Inf in any output row
  int64_t detections = 0, false_alarms = 0, recoveries = 0;
  int64_t uncorrectable = 0, restarts = 0, reexecuted_steps = 0;
  int64_t corrections = 0;     // recoveries done by flipping located bits back
  int64_t reliable_bytes = 0;  // reliable memory the protection mode uses
  int64_t bits_flipped = 0;    // injector.applied().size()
  int64_t weight_bits = 0;     // of which in weights (persistent)
  // Wall-clock measurements: recorded here and in timings.json, never in
  // summary.json (which must be byte-identical across runs).
  double latency_ms = 0;  // median per batch (inputs in + inference)
  double check_ms = 0;    // total time the protection spent checking
  double accurate_latency_ms = 0;
  double seconds = 0;  // the whole trial, harness included
  double throughput_per_s = 0;

  std::string key() const;  // series id + flips + trial: the resume key
  nlohmann::json to_json() const;
  static TrialResult from_json(const nlohmann::json& j);
};

// The per-trial seed: the campaign seed mixed with everything that names the
// trial except the protection mode, so every mode faces the same flips.
uint64_t trial_seed(uint64_t seed, const Series& s, int64_t flips, int64_t trial);

// 64-bit FNV-1a: stable short keys for files and seeds.
uint64_t fnv1a64(const std::string& s);
std::string hex64(uint64_t v);

}  // namespace save::eval
