#include "eval/trial.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_read.hpp"
#include "inject/rng.hpp"

namespace save::eval {

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  return fmt::format("{:016x}", v);
}

Series Series::from(const std::string& mode, const FaultConfig& cfg) {
  Series s;
  s.mode = mode;
  s.pattern = cfg.pattern;
  s.scenario = cfg.scenario;
  s.target = cfg.target;
  s.bits_per_word = cfg.bits_per_word;
  s.burst_length = cfg.pattern == Pattern::kBurst ? cfg.burst_length : 0;
  return s;
}

std::string Series::id() const {
  std::string id = fmt::format("{}/{}/{}/{}/k{}", mode, to_string(pattern), to_string(scenario),
                               to_string(target), bits_per_word);
  if (pattern == Pattern::kBurst) id += fmt::format("/burst{}", burst_length);
  return id;
}

nlohmann::json Series::to_json() const {
  nlohmann::json j;
  j["mode"] = mode;
  j["pattern"] = to_string(pattern);
  j["scenario"] = to_string(scenario);
  j["target"] = to_string(target);
  j["bits_per_word"] = bits_per_word;
  j["burst_length"] = burst_length;
  return j;
}

std::string TrialResult::key() const {
  return fmt::format("{}#{}#{}", series.id(), flips, trial);
}

nlohmann::json TrialResult::to_json() const {
  nlohmann::json j = series.to_json();
  j["series"] = series.id();
  j["flips"] = flips;
  j["trial"] = trial;
  j["trial_seed"] = hex64(trial_seed);  // hex: JSON readers lose 64-bit ints
  j["samples"] = samples;
  j["accuracy"] = accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr);
  j["sdc"] = sdc;
  j["sdc_rate"] = sdc_rate;
  if (!sdc_by_output.empty()) j["sdc_by_output"] = sdc_by_output;
  j["nan_inf"] = nan_inf;
  j["detections"] = detections;
  j["false_alarms"] = false_alarms;
  j["recoveries"] = recoveries;
  j["uncorrectable"] = uncorrectable;
  j["kernel_errors"] = kernel_errors;
  j["restarts"] = restarts;
  j["reexecuted_steps"] = reexecuted_steps;
  j["corrections"] = corrections;
  j["reliable_bytes"] = reliable_bytes;
  j["check_ms"] = check_ms;
  j["bits_flipped"] = bits_flipped;
  j["weight_bits"] = weight_bits;
  j["latency_ms"] = latency_ms;
  j["accurate_latency_ms"] = accurate_latency_ms;
  j["seconds"] = seconds;
  j["throughput_per_s"] = throughput_per_s;
  return j;
}

namespace {

// A count added after the first logs: 0 when absent, an Error when not an integer.
int64_t optional_int(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? integer_at<int64_t>(j, key) : 0;
}

}  // namespace

TrialResult TrialResult::from_json(const nlohmann::json& j) {
  TrialResult t;
  t.series.mode = j.at("mode").get<std::string>();
  t.series.pattern = parse_pattern(j.at("pattern").get<std::string>());
  t.series.scenario = parse_scenario(j.at("scenario").get<std::string>());
  t.series.target = parse_target(j.at("target").get<std::string>());
  t.series.bits_per_word = integer_at<int>(j, "bits_per_word");
  t.series.burst_length = integer_at<int>(j, "burst_length");
  t.flips = integer_at<int64_t>(j, "flips");
  t.trial = integer_at<int64_t>(j, "trial");
  t.trial_seed = std::stoull(j.at("trial_seed").get<std::string>(), nullptr, 16);
  t.samples = integer_at<int64_t>(j, "samples");
  if (!j.at("accuracy").is_null()) t.accuracy = j.at("accuracy").get<double>();
  t.sdc = integer_at<int64_t>(j, "sdc");
  t.sdc_rate = j.at("sdc_rate").get<double>();
  // Added with the per-output metrics; older logs lack it.
  if (j.contains("sdc_by_output"))
    for (const auto& [name, v] : j.at("sdc_by_output").items())
      t.sdc_by_output[name] = integer_at<int64_t>(j.at("sdc_by_output"), name);
  t.nan_inf = integer_at<int64_t>(j, "nan_inf");
  t.detections = integer_at<int64_t>(j, "detections");
  t.false_alarms = integer_at<int64_t>(j, "false_alarms");
  t.recoveries = integer_at<int64_t>(j, "recoveries");
  // Added with the protection modes; older logs lack them.
  t.uncorrectable = optional_int(j, "uncorrectable");
  t.kernel_errors = optional_int(j, "kernel_errors");
  t.restarts = optional_int(j, "restarts");
  t.reexecuted_steps = optional_int(j, "reexecuted_steps");
  t.corrections = optional_int(j, "corrections");
  t.reliable_bytes = optional_int(j, "reliable_bytes");
  t.check_ms = j.value("check_ms", 0.0);
  t.bits_flipped = integer_at<int64_t>(j, "bits_flipped");
  t.weight_bits = integer_at<int64_t>(j, "weight_bits");
  t.latency_ms = j.at("latency_ms").get<double>();
  t.accurate_latency_ms = j.at("accurate_latency_ms").get<double>();
  t.seconds = j.at("seconds").get<double>();
  t.throughput_per_s = j.at("throughput_per_s").get<double>();
  return t;
}

uint64_t trial_seed(uint64_t seed, const Series& s, int64_t flips, int64_t trial) {
  std::string what =
      fmt::format("{}|{}|{}|k{}|b{}|{}|{}", to_string(s.pattern), to_string(s.scenario),
                  to_string(s.target), s.bits_per_word, s.burst_length, flips, trial);
  return Rng::mix(seed, fnv1a64(what));
}

}  // namespace save::eval
