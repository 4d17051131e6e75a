// What `save eval` writes besides results.json, rendered from its object
// (eval/eval_suite.hpp builds it): results.csv, report.md, the plots and the
// short table for the terminal. Kept apart from the orchestration so the
// report can change without touching how campaigns run or resume, and so a
// results.json read back can be rendered again.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/ood.hpp"

namespace save::eval {

using json = nlohmann::json;

// Adds the derived columns to every point: "x none" (accurate_latency_vs_none)
// and the reliable share of inference memory. With interleaved timing
// (results["latency"]), a point's x none is the mode's interleaved
// fault-free ratio times what the flips cost it inside its own campaign.
void add_ratios(json& results);
// One row per (mode, scenario, flips) point and per (mode, OOD set).
std::string results_csv(const json& results);
std::string report_md(const json& results, const std::vector<OodSetInfo>& sets);
// The summary object accuracy_svg (eval/report.hpp) plots, for one scenario's series.
json plot_summary(const json& results, json series);
// AccurateLatency per mode, fault-free and at `flips`.
std::string latency_svg(const json& results, int64_t flips);
// False alarms per mode on each out-of-distribution set.
std::string ood_svg(const json& results, const std::vector<OodSetInfo>& sets);
// The terminal table at the headline flip count, and the two-sentence story.
std::string short_table(const json& results, int64_t flips);

}  // namespace save::eval
