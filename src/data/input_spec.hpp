// The inputs a command feeds a model: one parser and one loader behind the
// input options of every subcommand that runs a model (save run, analyze,
// inject, sweep, eval; src/cli/input_options.hpp registers them):
//
//   --input NAME=FILE.npy   the samples of input NAME along axis 0 (the
//                           model's batch axis); repeatable, once per input
//   --input NAME=FOLDER     a folder of .npy files, one sample each, taken
//                           in name order (each the input's shape without
//                           the batch axis, or with a batch axis of 1)
//   --data fashion-mnist    a single-input model's samples (or FILE.npy)
//   --labels FILE.npy       class indices, one per sample (optional)
//   --input-shape NAME=DIMS the shape the model runs at, where it must be
//                           stated (analysis without data); checked against
//                           the data when both are given
//
// A rank-0 model input (a sample rate, a flag) is shared: its file holds the
// one value every batch is given. A model whose batch dim is fixed (say 1)
// runs batches of exactly that size (effective_batch), and the sample count
// must be a multiple of it. Every mistake is one Error naming the
// input and what the model expects; nothing is written by any of this.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "data/dataset.hpp"
#include "ir/graph.hpp"

namespace save {

class Session;

struct InputOptions {
  std::vector<std::string> inputs;  // "NAME=FILE.npy" | "NAME=FOLDER"
  std::string data;                 // "fashion-mnist[-train]" | FILE.npy (single input)
  std::string labels;               // labels .npy, or ""
  std::vector<std::string> shapes;  // "NAME=D1xD2x..."
  bool has_data() const { return !inputs.empty() || !data.empty(); }
};

struct InputBinding {
  std::string name, path;
};

// "NAME=PATH" per --input, in the order given; Error on a malformed one or
// a name given twice.
std::vector<InputBinding> parse_input_bindings(const std::vector<std::string>& specs);

// --input-shape NAME=DIMS by name, checked against the model: a known input,
// its rank, its fixed dims, no dim below 1, no name twice.
std::map<std::string, Shape> parse_input_shapes(const Graph& g,
                                                const std::vector<std::string>& specs);

// Loads every model input's samples (see the header comment). Errors: --data
// with --input, --data on a model with several inputs, an unknown or
// duplicate --input name, a model input left without one, a file or folder
// that cannot be read, a dtype or rank other than the model's, a fixed dim
// the data does not have, sample counts that differ between inputs, a
// sample count that is not a multiple of a fixed batch, an --input-shape
// the data does not have, labels that are not one class index per sample.
Dataset load_input_set(const Graph& g, const InputOptions& o);

// The shapes to analyse at, by input name: --input-shape where given, else
// one sample of the data (batch 1) when there is data, else nothing (the
// declared shapes, unknown dims 1).
std::map<std::string, Shape> analysis_shapes(const Graph& g, const InputOptions& o,
                                             const Dataset* data);

// The batch size a campaign or run takes: the model's fixed batch when it
// has one, else `wanted`.
int64_t effective_batch(const Dataset& data, int64_t wanted);

// Plans the first batch, so that a shape the model cannot take (a window
// larger than the image, a MatMul whose sizes do not meet) is one Error
// naming the input shapes, before anything is written.
void check_model_takes(Session& session, const Dataset& data, int64_t batch);

// "image: 4x3x16x16, vec: 4x8": the shapes of one batch, for messages.
std::string describe_shapes(const Graph& g, const std::vector<Tensor>& inputs);

}  // namespace save
