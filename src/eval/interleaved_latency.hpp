// Latency of several protection modes measured fairly on a shared machine
// (../shared/design/EVALUATION.md: "modes compared for latency run
// interleaved, every mode once per round in rotating order, and ratios are
// medians of per-round ratios with quartiles").
//
// Measuring mode after mode lets a slow minute of a busy VM land on one
// mode only: `save eval --quick` once showed ecc, ranger and abft at
// 0.76-0.81x of `none`, which they cannot be. Here every round times every
// mode on the same batches, fault-free, back to back, the order rotating
// by one each round; each mode's round time is the median over its
// batches, and a mode's cost is the median over rounds of its round time
// over the reference mode's in the same round.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "exec/session.hpp"
#include "protect/mode.hpp"

namespace save::eval {

// One mode to time: its session (a mode may run another model, e.g.
// rednet's retrained copy) and its protection.
struct LatencyEntrant {
  std::string mode;
  Session* session = nullptr;
  save::protect::Protection* protection = nullptr;
};

struct ModeLatency {
  std::string mode;
  std::vector<double> round_ms;       // per round: median ms per batch
  double median_ms = 0;               // median of round_ms
  double ratio_median = 0;            // median over rounds of round_ms / reference's
  double ratio_q1 = 0, ratio_q3 = 0;  // quartiles of the per-round ratios
  int64_t detections = 0;             // detections during these fault-free runs: false alarms
};

struct InterleavedLatency {
  std::string reference;  // the mode ratios divide by ("none")
  int rounds = 0;
  int64_t batches = 0;             // batches per mode per round
  std::vector<ModeLatency> modes;  // in the order given
};

// Runs `rounds` rounds over `batches` (fault-free; each batch holds every
// model input). The first round of each
// mode is preceded by one untimed warm-up pass over the batches (plans,
// first touch, oneDNN's JIT). `reference` must be one of the entrants.
// Throws Error on an empty entrant list, no batches, rounds < 1, or an
// unknown reference.
InterleavedLatency measure_interleaved(const std::vector<LatencyEntrant>& entrants,
                                       const std::vector<std::vector<Tensor>>& batches, int rounds,
                                       const std::string& reference = "none");

// The round order of round `r` over `n` entrants: rotated by r.
std::vector<size_t> rotation(size_t n, int r);

}  // namespace save::eval
