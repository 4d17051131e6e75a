// The protection plan: what the selection stage (range analysis + bit
// attribution, src/analysis) decided for each value, in the form the
// runtime checks need, and its file format (`save analyze -o PLAN`,
// `--plan PLAN`).
//
// Per activation (by graph value): per-channel bounds (channel = axis 1, or
// one range for the whole tensor), the mask of bits that are not robust in
// some channel, and the bit counts. From those the runtime picks the check:
//  - every bit robust           -> nothing;
//  - no vulnerable bit           -> range check when a consumer reads it;
//  - some vulnerable bit         -> range check when written + a checksum of
//                                   the non-robust bits, taken when written
//                                   and verified when read.
// Weights need no entry: the runtime verifies them against the host copy.
//
// The file is JSON, versioned, and names the model's sha256 and the graph
// passes the session ran (passes/pipeline.hpp: fusion removes values and
// renames none, so a plan fits only a graph rewritten the same way): a plan
// for another model, or made with other passes (`--no-fuse`), is refused
// when loaded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/range_analysis.hpp"

namespace save::protect {

// 3: records the passes the graph ran through and the input shapes the
// bounds were derived at.
inline constexpr int kPlanFormatVersion = 3;

struct ActivationPlan {
  std::string name;
  std::vector<float> lo, hi;    // per channel, or one entry for the whole tensor
  uint32_t nonrobust_mask = 0;  // bit b set: not robust in at least one channel
  // Bits per element, summed over channels and divided by the channel count
  // (so 32 = robust + ranging + vulnerable for every element on average).
  double robust_bits = 0, ranging_bits = 0, vulnerable_bits = 0;
  bool bounded = false;  // every channel has finite bounds
  bool has_vulnerable() const { return vulnerable_bits > 0; }
};

// The shapes a plan was made for (graph.inputs order). Bounds and bit
// classes hold only there: a Conv's zero border, a pool's window count or a
// LayerNorm's length all change with the spatial dims. any_batch: dim 0
// stands for every batch size (the analysis ran at batch 1 on a model that
// treats samples separately, so the per-sample bounds hold row by row:
// analysis/range_analysis.hpp, per_sample_model).
struct PlanShapes {
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  bool any_batch = false;
  bool empty() const { return names.empty(); }
  // "" when `run` (graph.inputs order) is a shape this plan covers, else
  // the first mismatch in words ("input 'x' is 1x3x64x64, the plan was made
  // for Nx3x32x32").
  std::string mismatch(const std::vector<Shape>& run) const;
  std::string describe() const;  // "x: Nx3x32x32, ..."
};

struct ProtectionPlan {
  int version = kPlanFormatVersion;
  std::string model_sha256;
  std::vector<std::string> passes;  // Graph::passes of the analysed session
  double tolerance = 1e-5;
  std::vector<InputRange> inputs;                     // the constraint the bounds hold under
  PlanShapes shapes;                                  // the input shapes they hold at
  std::map<std::string, ActivationPlan> activations;  // by value name
  double analysis_seconds = 0;
};

// The input shapes of a session plan (graph.inputs order).
std::vector<Shape> plan_input_shapes(const Plan& plan);

// Runs the range analysis on `session` and turns it into a plan.
// `model_sha256` is recorded so the plan can later be tied to its model.
ProtectionPlan build_plan(Session& session, const RangeOptions& opts, double tolerance,
                          const std::string& model_sha256);
// Same, from an analysis already run.
ProtectionPlan plan_from_analysis(const RangeAnalysis& ra, double tolerance,
                                  const std::string& model_sha256);

// Writes the plan (atomically). Throws Error on I/O failure.
void save_plan(const ProtectionPlan& plan, const std::string& path);
// Reads a plan; throws Error naming the problem for a missing, corrupt or
// wrong-version file, or when `expected_sha256` is not empty and differs
// from the plan's model hash, or when `expected_passes` is given and differs
// from the passes the plan was made with.
ProtectionPlan load_plan(const std::string& path, const std::string& expected_sha256,
                         const std::vector<std::string>* expected_passes = nullptr);
// load_plan on a file's text; `path` names it in errors. The content
// checksum (content_sha256, over the rest of the JSON) must match.
ProtectionPlan parse_plan(const std::string& text, const std::string& path,
                          const std::string& expected_sha256,
                          const std::vector<std::string>* expected_passes = nullptr);

}  // namespace save::protect
