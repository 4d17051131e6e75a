// Campaign results as files: summary.json (deterministic: same arguments
// and seed give the same bytes, so it holds no wall-clock measurement),
// timings.json (latency and throughput per point), summary.csv and
// report.md (both with the timings merged in).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/trial.hpp"

namespace save::eval {

// `header` (model, seed, samples, machine...) plus "series": one per
// series id (sorted), each with its points by flip count (ascending).
// Counts (nan_inf, detections, false_alarms, recoveries) are summed over a
// point's trials; rates and accuracy are means (with min/max).
nlohmann::json build_summary(const nlohmann::json& header, const std::vector<TrialResult>& records);
// "series": [{"series": id, "points": [{flips, latency_ms, accurate_latency_ms,
// throughput_per_s, seconds}]}]: latency_ms is the median of the trials'
// per-batch medians; accurate_latency_ms = latency_ms x (1 + sdc_rate).
nlohmann::json build_timings(const std::vector<TrialResult>& records);
// The summary with each point's timing fields added (what --json prints).
nlohmann::json merge_timings(const nlohmann::json& summary, const nlohmann::json& timings);
std::string summary_csv(const nlohmann::json& combined);
std::string report_markdown(const nlohmann::json& combined);
// hostname, cpu (model name from /proc/cpuinfo), threads.
nlohmann::json machine_info(int threads);

}  // namespace save::eval
