// accuracy_vs_flips.svg, written by hand (no plotting dependency): flips on
// a log x axis with 0 on its own tick at the left, accuracy on y (agreement
// with the golden top-1 when the inputs are unlabelled), one mean line and
// one min/max band per series, axis labels and a legend. Deterministic in
// the summary it is drawn from.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace save::eval {

std::string accuracy_svg(const nlohmann::json& summary);

// A grouped bar chart (`save eval`: AccurateLatency per mode, false alarms
// per mode and input set): one group per category along x, one bar per
// series in each group, its value printed above it; a missing value leaves
// a gap marked "n/a". y runs from 0 to a rounded maximum.
struct BarChart {
  std::string title, y_label, note;  // note: one grey line under the legend
  std::vector<std::string> categories;
  std::vector<std::string> series;
  std::vector<std::vector<std::optional<double>>> values;  // [series][category]
};
std::string bar_svg(const BarChart& chart);

}  // namespace save::eval
