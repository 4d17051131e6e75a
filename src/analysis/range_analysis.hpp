// Range analysis (SAVE "Selection", phase one): sound per-element bounds of
// every value the model computes or stores, propagated from a constraint on
// the inputs through each op's interval rule (ops/interval.hpp).
//
// Bounds are per element for one sample: the model is planned at batch 1
// and every value gets lo/hi tensors of its batch-1 shape (per-element
// bounds subsume per-channel ones; the summary gives per-channel ranges).
// Constants are exact (their golden copy). The result is a side table
// indexed by ValueId: tensors never carry bounds.
//
// Refinement by splitting the input range into sub-ranges (SAVE used 1,000)
// is not done here: with per-element bounds a split is sound only if the
// pieces together cover every input the constraint allows, i.e. a product
// over input elements, which does not compose for whole models. It belongs
// to bit attribution (part 4), applied along elementwise chains where a
// per-element split is exact.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/symbolic_bounds.hpp"
#include "exec/session.hpp"
#include "ops/interval.hpp"

namespace save {

struct InputRange {
  std::string name;
  double lo = 0, hi = 1;
  bool defaulted = false;  // not given on the command line: the default
  bool bounded = true;     // false for non-float inputs (indices): unknown
};

struct RangeOptions {
  IntervalOptions interval;
  // Linear bounds in the input elements beside the intervals
  // (analysis/symbolic_bounds.hpp); `save analyze --symbolic` turns them on.
  SymbolicOptions symbolic;
  // --input-range NAME=LO:HI, by input name.
  std::map<std::string, std::pair<double, double>> input_ranges;
  // Float inputs without an explicit range are taken as images in [0, 1].
  double default_lo = 0, default_hi = 1;
  // The shapes that will run, by input name (--input-shape, or the shapes a
  // protected run sees). Inputs not named: declared shapes, unknown dims 1.
  // Bounds hold only at the shapes analysed: a Conv's border, a pool's
  // window count, a LayerNorm's length all change with the spatial dims.
  std::map<std::string, Shape> input_shapes;
};

// Per value: overall and per-channel (axis 1, rank >= 2) range of the bounds.
struct ValueSummary {
  bool present = false;  // the batch-1 plan materialises this value
  bool bounded = false;  // every element has finite bounds
  bool constant = false;
  double min_lo = 0, max_hi = 0;
  std::vector<float> channel_lo, channel_hi;
};

struct RangeAnalysis {
  std::vector<Bounds> bounds;  // by ValueId; Bounds{} where not present
  std::vector<ValueSummary> summary;
  std::vector<InputRange> inputs;
  std::vector<uint8_t> has_rule;     // by step of the batch-1 plan: op had a rule (or all exact)
  std::vector<double> step_seconds;  // by step: time of its interval rule
  double seconds = 0;                // wall time of the analysis (planning included)
  SymbolicStats symbolic;            // what the symbolic pass did (its time included above)
  Plan* plan = nullptr;              // the session's plan the bounds refer to
  // The input shapes analysed (graph.inputs order). When any_batch, the
  // model treats samples separately (per_sample_model) and was analysed at
  // batch 1: the per-sample bounds hold row by row at every batch size, and
  // dim 0 of input_shapes stands for any batch.
  std::vector<Shape> input_shapes;
  bool any_batch = false;
};

// Whether every element of every value is computed from one sample alone,
// so bounds found at batch 1 hold, element by element of each sample, at any
// batch (and so do the per-channel hulls the runtime checks). Structural and
// conservative: planned at batch 1 and at batch 3, every computed value has
// exactly one axis 3x larger (where its samples lie; Transpose and Reshape
// may move or merge it) and the same other dims; and no step combines
// elements along that axis: elementwise and data-movement ops never do;
// Conv/pool/norm ops need it at axis 0; Softmax, LayerNorm, reductions,
// ArgMax/TopK/CumSum must not work along it, MatMul/Gemm must not contract
// it; RNN/GRU/LSTM need it at X's batch axis (and none in the weights); any
// other op is taken to mix. `batch1`: the inputs at batch 1.
bool per_sample_model(Session& session, const std::vector<Tensor>& batch1);

// "NAME=1x3x32x32": an input shape (dims separated by 'x' or ','); throws
// Error naming the text when malformed.
std::pair<std::string, Shape> parse_input_shape(const std::string& text);

// Parses "NAME=LO:HI"; throws Error on malformed text or LO > HI.
std::pair<std::string, std::pair<double, double>> parse_input_range(const std::string& text);

// The dummy batch-1 inputs the analysis plans with (declared shapes, unknown
// dims 1, zeros).
std::vector<Tensor> batch1_inputs(const Graph& graph);
// Zero inputs of the given shapes (by name; others as batch1_inputs).
std::vector<Tensor> shaped_inputs(const Graph& graph, const std::map<std::string, Shape>& shapes);

RangeAnalysis analyze_ranges(Session& session, const RangeOptions& opts = {});

}  // namespace save
