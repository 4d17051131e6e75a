// Labelled image sets: Fashion-MNIST from Debian's dataset-fashion-mnist
// (IDX, gzip) or any .npy array (N x ...), plus helpers to batch them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace save {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct Dataset {
  Tensor images;                // N x ... (float32 for images)
  std::vector<int64_t> labels;  // empty when unlabelled
  std::string source;
  int64_t size() const { return images.rank() == 0 ? 0 : images.shape()[0]; }
};

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
