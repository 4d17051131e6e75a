// The input options every subcommand that runs a model takes (--input,
// --input-shape, --data, --labels), registered in one place so their names,
// help and rules are the same everywhere (data/input_spec.hpp loads them).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "data/input_spec.hpp"

namespace save::cli {

// `with_labels`: also --labels (analyze reads shapes from the data, it
// scores nothing).
void add_input_options(CLI::App* c, InputOptions& o, bool with_labels = true);

// --sdc-metric METRIC | OUTPUT=METRIC (repeatable): how a campaign judges
// each output's SDC (eval/sdc_metric.hpp).
void add_sdc_metric_option(CLI::App* c, std::vector<std::string>& values);

}  // namespace save::cli
