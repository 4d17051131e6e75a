// Order statistics of timing samples, shared by `save run` and the
// benchmarks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace save {

// Linear-interpolated percentile, p in [0, 1]; 0 for an empty sample.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double idx = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

inline double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5);
}

}  // namespace save
