// Sample sets: Fashion-MNIST from Debian's dataset-fashion-mnist (IDX,
// gzip) or any .npy array (N x ...) for a single-input model, or every
// input of any model by name (data/input_spec.hpp), plus helpers to batch
// them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace save {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct Dataset {
  Tensor images;                // N x ...: a single-input set (input 0 of a named set)
  std::vector<int64_t> labels;  // empty when unlabelled
  std::string source;
  // Set by load_input_set (data/input_spec.hpp): every model input, in
  // graph.inputs order, its samples along axis 0 -- except a shared one
  // (a rank-0 model input such as a sample rate), fed whole to every batch.
  // Empty for a single-input set: `images` is then the only input.
  std::vector<Tensor> inputs;
  std::vector<std::string> names;
  std::vector<uint8_t> shared;
  int64_t samples = 0;      // with `inputs`: the sample count
  int64_t fixed_batch = 0;  // > 0: the model's batch dim is fixed; batches are this size
  std::string sha256;       // content of the files read ("" for a named set)
  int64_t size() const {
    if (!inputs.empty()) return samples;
    return images.rank() == 0 ? 0 : images.shape()[0];
  }
};

// Samples [begin, end) of every input, in graph.inputs order (a shared
// input whole): what one batch feeds the model.
std::vector<Tensor> batch_of(const Dataset& data, int64_t begin, int64_t end);

// Reads labels (class indices, one per sample) from a .npy vector; Error
// naming the file when it is not an integer vector of `samples` entries or
// holds a negative label.
std::vector<int64_t> read_labels(const std::string& path, int64_t samples);

// Reads an IDX file (optionally gzip-compressed). Throws Error when the file
// is not IDX.
Tensor read_idx(const std::string& path);

// "fashion-mnist" (the 10,000 test images, N x 1 x 28 x 28 in [0, 1]),
// "fashion-mnist-train", or a path to a .npy file (images) with an optional
// labels .npy.
Dataset load_dataset(const std::string& spec, const std::string& labels_npy = "");

// Labels are class indices: Error naming `source` and the sample when one
// of labels[begin, end) is outside [0, classes).
void check_labels(const std::vector<int64_t>& labels, int64_t begin, int64_t end, int64_t classes,
                  const std::string& source);

// Rows [begin, end) of a tensor along axis 0 (a copy).
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end);

}  // namespace save
