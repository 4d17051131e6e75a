// `save eval MODEL --out DIR`: every protection mode side by side on one
// model, in one run, on one machine (../shared/design/EVALUATION.md).
//
// For each mode it runs one fault-injection campaign per scenario
// (run_campaign, random pattern; accumulated flips target the resident
// weights, streaming flips target weights and activations) into
// DIR/<mode>/<scenario>/, and one fault-free campaign per out-of-distribution
// set (data/ood.hpp) into DIR/<mode>/ood-<set>/: there every detection is a
// false alarm and every answer that differs from the unprotected model's is
// a wrong patch. Every campaign folder resumes on its own, so a killed eval
// re-run with the same arguments runs only what is missing. Then it writes
// DIR/results.json, results.csv, report.md and three plots.
//
// Modes: none, save, the baselines and rednet (the model retrained with a
// bounded activation, found next to MODEL as <stem>-rednet.onnx and run
// with `none`). A mode that cannot be set up (not built yet, or no rednet
// model) is skipped with a note when the modes are the default, and is an
// error when it was asked for by name.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/sdc_metric.hpp"
#include "inject/injector.hpp"
#include "protect/mode.hpp"

namespace save::eval {

class Shard;

// Every mode in report order: none, save, dmr, tmr, ecc, ranger, drdna,
// abft, rednet.
const std::vector<std::string>& eval_modes();

struct EvalSpec {
  std::string model_path;
  std::string data = "fashion-mnist";  // the clean inputs (and the OOD sets' base)
  std::string labels;                  // labels .npy (class indices), or ""
  // --input NAME=FILE.npy|FOLDER per model input, instead of `data`
  // (data/input_spec.hpp), and --input-shape checks.
  std::vector<std::string> inputs, input_shapes;
  SdcMetricChoice sdc_metrics;  // --sdc-metric (empty: automatic per output)
  std::string out_dir;
  std::vector<std::string> modes;  // empty: eval_modes(), skipping what cannot run
  std::vector<int64_t> flips = {0, 16, 256, 4096, 16384};
  std::vector<Scenario> scenarios = {Scenario::kAccumulated, Scenario::kStreaming};
  int64_t limit = 0;           // clean samples (0: all)
  int64_t ood_samples = 2000;  // inputs per out-of-distribution set (0: none)
  int64_t trials = 3;          // per (mode, scenario, flip count)
  uint64_t seed = 1;
  int threads = 0;
  bool fuse = true;  // the graph passes (false: `--no-fuse`, the graph as written)
  int64_t batch = 64;
  bool quick = false;  // recorded in the results (the settings come from quick_spec)
  save::protect::ProtectionOptions protect_opts;
  std::FILE* progress = stderr;  // the bar over the whole eval, and notes (null: silent)
  bool progress_tty = false;
  int64_t max_new_trials = -1;  // tests: stop after this many new trials (stands for a kill)
  // Latency: every mode timed fault-free in `latency_rounds` interleaved
  // rounds (rotating order) over the first `latency_batches` batches
  // (eval/interleaved_latency.hpp); ratios to `none` are medians of the
  // per-round ratios. Stored in DIR/latency.json and reused on resume.
  int latency_rounds = 9;
  int64_t latency_batches = 4;
  // Several processes (eval/shard.hpp): this one runs only the campaigns
  // (mode x scenario, OOD sets) it owns; the leader then writes the results.
  Shard* shard = nullptr;
};

// `--quick`: the subset that finishes well under 3 minutes on a 2-core
// machine for fmnist-cnn (24 s for all nine modes on a busy one): the
// first 1,000 test images, 1 trial per point (every flip count of the full
// run), 200 inputs per OOD set, ranger/drdna profiled on 2,000 training
// images, 1 thread, 7 latency rounds. Returns `s` with those settings.
EvalSpec quick_spec(EvalSpec s);

struct EvalOutcome {
  nlohmann::json results;  // what results.json holds
  std::string table;       // the short table for a terminal (save eval prints it)
  int64_t ran = 0;         // trials run by this call
  int64_t skipped = 0;     // requested trials found already recorded
  bool complete = false;   // every requested trial of every mode that runs is recorded
};

// Runs (or resumes) the evaluation. Throws Error on bad arguments, a folder
// that holds an evaluation of another model or input set, or a mode asked
// for by name that cannot run.
EvalOutcome run_eval(const EvalSpec& spec);

}  // namespace save::eval
