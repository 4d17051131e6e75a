// What a sweep measures and how it is counted: the effect of one flipped
// bit (BitEffect), the bit attribution's prediction against that outcome
// (Confusion, the analysis validation's verdict: false_robust must stay 0),
// and the per-bit-position table (`save sweep` prints both).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "ir/graph.hpp"

namespace save {

// The effect of one flipped bit on the validation batch, over all float32
// outputs. max_abs / max_rel are +inf when an output became NaN or Inf.
struct BitEffect {
  ValueId value = kNoId;
  uint64_t ordinal = 0;  // place in the sweep's order (Sweep::run): 0, 1, ...
  int64_t element = 0;
  int bit = 0;
  double max_abs = 0;
  double max_rel = 0;        // max |y' - y| / max(|y|, 1e-6) over elements
  int64_t top1_changes = 0;  // rows of the first output whose argmax moved
  bool nonfinite = false;
  // Largest change of the first reader step's outputs (the op that reads
  // the weight): what bit attribution bounds by the tolerance.
  double consumer_max_abs = 0;
  // With predict_tolerance > 0: the most the prediction lets that change be
  // for this flip, float rounding included (ReaderChange::bound of the
  // flip's |dw|: analysis/robust_masks.hpp). A larger change "moved".
  double consumer_bound = INFINITY;
  bool stopped_early = false;     // the change vanished before the last step
  int64_t skipped_steps = 0;      // steps not re-run: inputs identical to the fault-free run
  bool predicted_robust = false;  // with predict_tolerance > 0
};

// Prediction against outcome (predict_tolerance > 0).
struct Confusion {
  int64_t robust_robust = 0;        // predicted robust, truly robust
  int64_t false_robust = 0;         // predicted robust, not robust: must stay 0
  int64_t conservative = 0;         // predicted non-robust, truly robust
  int64_t nonrobust_nonrobust = 0;  // predicted non-robust, not robust
  // Predicted robust but the reader's outputs moved by more than the local
  // claim allows (consumer_bound: the local budget's exact-arithmetic share
  // plus what rounding of a correct float32 kernel may add; must stay 0).
  int64_t false_robust_consumer = 0;
  void add(const BitEffect& e, double tol);
  int64_t total() const {
    return robust_robust + false_robust + conservative + nonrobust_nonrobust;
  }
};

// Per bit position. Means and maxima are over finite records only (a NaN
// output has no magnitude); nonfinite counts the others.
struct BitPositionStats {
  int64_t swept = 0;
  int64_t top1_changed = 0;  // records with at least one top-1 change
  int64_t nonfinite = 0;
  double sum_abs = 0;
  double max_abs = 0;
  double top1_share() const { return swept ? static_cast<double>(top1_changed) / swept : 0; }
  double mean_abs() const {
    int64_t n = swept - nonfinite;
    return n > 0 ? sum_abs / static_cast<double>(n) : 0;
  }
  void add(const BitEffect& e);
};

bool truly_robust(const BitEffect& e, double tol);

struct SweepSummary {
  std::array<BitPositionStats, 32> by_bit{};
  Confusion confusion;
  int64_t stopped_early = 0;  // re-runs that ended early (the change vanished)
  int64_t skipped_steps = 0;  // steps not re-run: inputs identical to the fault-free run
  int64_t bits = 0;
  double seconds = 0;
  // Counts one record (`tol`: the prediction tolerance, 0 without one).
  // Sweep::run and the merge of a sharded sweep's logs both count through
  // here, in the same order, so their sums agree to the last bit.
  void add(const BitEffect& e, double tol);
  double bits_per_second() const { return seconds > 0 ? static_cast<double>(bits) / seconds : 0; }
};

}  // namespace save
