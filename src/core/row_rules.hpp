// The two per-row rules every scorer shares (campaigns' SDC metric in
// eval/sdc_metric.hpp, `save sweep`'s top-1 changes, `save run`'s
// accuracy), kept here below all of them so that inject/ need not reach up
// into eval/. The NaN rule: top1() of a row holding a NaN is -1, which
// agrees with no golden answer and no label (+-Inf are ordinary numbers
// for top-1).
#pragma once

#include <cmath>
#include <cstdint>

namespace save {

// The index of the largest of p[0..n); the first on ties; -1 when a NaN is
// among them (or n is 0).
inline int64_t top1(const float* p, int64_t n) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) return -1;
    if (best < 0 || p[i] > p[best]) best = i;
  }
  return best;
}

// Whether p[0..n) holds a NaN or an Inf.
inline bool has_nonfinite(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return true;
  return false;
}

}  // namespace save
