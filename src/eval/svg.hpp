// accuracy_vs_flips.svg, written by hand (no plotting dependency): flips on
// a log x axis with 0 on its own tick at the left, accuracy on y (agreement
// with the golden top-1 when the inputs are unlabelled), one mean line and
// one min/max band per series, axis labels and a legend. Deterministic in
// the summary it is drawn from.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace save::eval {

std::string accuracy_svg(const nlohmann::json& summary);

}  // namespace save::eval
