// The whole-model soundness check shared by the range-analysis unit test
// and the gate (tests/models/range_soundness_gate.cpp): an ExecHooks that
// checks every value each step writes (and the inputs) against its batch-1
// per-element interval, row by row at any batch.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "analysis/range_analysis.hpp"

namespace save::test {

// How an element of a batch-N value maps to its batch-1 bound: the batch-N
// shape equals the batch-1 shape except along one axis k, which holds N
// times the batch-1 extent (a batch axis, or the batch merged into an
// outer axis, e.g. [N*T, D] from [T, D]). Elements are then (outer, n,
// inner) with the batch-1 element outer * block + inner.
struct RowMap {
  bool ok = false;
  int64_t outer = 1, block = 1;  // block: batch-1 elements at and after axis k
};

RowMap row_map(const Shape& s1, std::span<const int64_t> sn, int64_t n) {
  RowMap m;
  if (s1.size() != sn.size()) return m;
  if (std::equal(s1.begin(), s1.end(), sn.begin())) {  // not batched (n == 1 or shared)
    m.ok = true;
    m.outer = 1;
    m.block = shape_numel(s1);
    return m;
  }
  for (size_t k = 0; k < s1.size(); ++k) {
    if (sn[k] != s1[k] * n) continue;
    bool rest = true;
    for (size_t j = 0; j < s1.size(); ++j) rest &= j == k || sn[j] == s1[j];
    if (!rest) continue;
    // A merged axis is taken batch-major (what Reshape of [N, T, ...]
    // gives); a wrong guess would show up as violations, not hide them.
    m.outer = 1;
    for (size_t j = 0; j < k; ++j) m.outer *= s1[j];
    m.block = 1;
    for (size_t j = k; j < s1.size(); ++j) m.block *= s1[j];
    m.ok = true;
    return m;
  }
  return m;
}

// Checks every step output (and the inputs) against its batch-1 bound and,
// while `observe` is set, records the observed min / max per value.
class BoundsGate : public ExecHooks {
 public:
  explicit BoundsGate(const RangeAnalysis& ra)
      : ra_(ra), seen_lo_(ra.bounds.size(), INFINITY), seen_hi_(ra.bounds.size(), -INFINITY) {}

  bool observe = false;
  int64_t batch = 1;
  int64_t checked = 0, violations = 0;
  std::vector<std::string> unmapped;  // values whose batch-N layout has no row map
  std::string first_violation;

  void on_run_begin(Execution& ex) override {
    for (ValueId v : ex.plan().graph().inputs) check(ex, v);
  }
  size_t after_step(Execution& ex, size_t step) override {
    for (ValueId v : ex.plan().steps()[step].outputs)
      if (v != kNoId) check(ex, v);
    return step + 1;
  }
  double seen_lo(ValueId v) const { return seen_lo_[v]; }
  double seen_hi(ValueId v) const { return seen_hi_[v]; }

 private:
  void check(Execution& ex, ValueId v) {
    const Bounds& b = ra_.bounds[v];
    if (!b.known || b.lo.dtype() != DType::kF32) return;
    const TensorView t = ex.value(v);
    if (t.dtype != DType::kF32 || t.data == nullptr) return;
    const RowMap m = row_map(b.lo.shape(), t.shape, batch);
    if (!m.ok) {
      const std::string& name = ex.plan().graph().values[v].name;
      if (std::find(unmapped.begin(), unmapped.end(), name) == unmapped.end())
        unmapped.push_back(name);
      return;
    }
    const float* x = t.ptr<float>();
    const float* lo = b.lo.ptr<float>();
    const float* hi = b.hi.ptr<float>();
    const int64_t n = t.numel(), block = m.block;
    const int64_t rows = n / block, per_o = rows / m.outer;
    float mn = INFINITY, mx = -INFINITY;
    int64_t bad = 0;
    // Rows in parallel; inside a row branch-free compares that vectorise
    // (NaN fails both `>=` and `<=`, so it counts as outside).
#pragma omp parallel for reduction(+ : bad) reduction(min : mn) reduction(max : mx)
    for (int64_t r = 0; r < rows; ++r) {
      const float* l = lo + (r / per_o) * block;
      const float* h = hi + (r / per_o) * block;
      const float* p = x + r * block;
      int64_t row_bad = 0;
      for (int64_t e = 0; e < block; ++e)
        row_bad += static_cast<int64_t>(!(p[e] >= l[e]) | !(p[e] <= h[e]));
      bad += row_bad;
      if (observe) {
        float a = INFINITY, b = -INFINITY;
        for (int64_t e = 0; e < block; ++e) {
          a = std::min(a, p[e]);
          b = std::max(b, p[e]);
        }
        mn = std::min(mn, a);
        mx = std::max(mx, b);
      }
    }
    checked += n;
    if (observe) {
      seen_lo_[v] = std::min(seen_lo_[v], static_cast<double>(mn));
      seen_hi_[v] = std::max(seen_hi_[v], static_cast<double>(mx));
    }
    if (bad > 0) {
      if (violations == 0) {
        for (int64_t e = 0; e < n; ++e) {
          const int64_t k = ((e / block) / (n / block / m.outer)) * block + e % block;
          if (!(x[e] >= lo[k] && x[e] <= hi[k])) {
            first_violation =
                fmt::format("{} element {} (batch-1 element {}): {} not in [{}, {}]",
                            ex.plan().graph().values[v].name, e, k, x[e], lo[k], hi[k]);
            break;
          }
        }
      }
      violations += bad;
    }
  }

  const RangeAnalysis& ra_;
  std::vector<double> seen_lo_, seen_hi_;
};

}  // namespace save::test
