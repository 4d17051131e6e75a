// Out-of-distribution input sets for the false-alarm test
// (../shared/design/EVALUATION.md): inputs that stay inside the declared
// constraint [0, 1] but look nothing like the training data. A sound range
// analysis must not alarm on any of them; modes that profile activations
// on training data (ranger, drdna) may, and the evaluation reports it.
//
// Every set is deterministic in its seed, and image i depends only on
// (seed, i) and base row i, so the first k inputs of a set of n are the set
// of k (a smaller --quick run sees a prefix of the full one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace save {

struct OodSetInfo {
  std::string name;
  std::string description;  // one line for reports
};

// noise, inverted, constant-0, constant-1, shifted, rescaled (report order).
const std::vector<OodSetInfo>& ood_sets();

// Maximum translation of the `shifted` set, in pixels along each image axis.
inline constexpr int kOodMaxShift = 4;

// `n` inputs of set `name`, each shaped like one row of `base` (N x ...,
// float32, values in [0, 1]); sets built from images use base rows 0, 1, ...
// cycling when n > N. The image plane is the last two axes (the last axis
// for rank-2 inputs). Throws Error for an unknown name or a base that is
// empty, not float32, or outside [0, 1].
Tensor make_ood_inputs(const std::string& name, const Tensor& base, int64_t n, uint64_t seed);

}  // namespace save
