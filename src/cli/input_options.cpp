#include "cli/input_options.hpp"

namespace save::cli {

void add_input_options(CLI::App* c, InputOptions& o, bool with_labels) {
  c->add_option("--input", o.inputs,
                "NAME=FILE.npy (samples along axis 0) or NAME=FOLDER (one .npy per sample, in "
                "name order): a model input (repeatable, every input once)");
  c->add_option("--input-shape", o.shapes,
                "NAME=D1xD2x...: the shape an input runs at, where the model leaves dims "
                "unknown (checked against the data when given)");
  c->add_option("--data", o.data,
                "'fashion-mnist' (test set) or a .npy file (N x ...) for a single-input model");
  if (with_labels)
    c->add_option("--labels", o.labels,
                  "Labels .npy: class indices of the first output, one per sample (optional)");
}

void add_sdc_metric_option(CLI::App* c, std::vector<std::string>& values) {
  c->add_option("--sdc-metric", values,
                "How an output's SDC is judged: top1 (top-1 differs from the fault-free run) or "
                "rel-linf[:THRESH] (max error / range of the fault-free output > THRESH, default "
                "1e-3); METRIC for every output or OUTPUT=METRIC (repeatable). Default: top1 for "
                "[N, C] outputs with C > 1, rel-linf otherwise; a NaN/Inf is always an SDC");
}

}  // namespace save::cli
