#include "eval/interleaved_latency.hpp"

#include <chrono>

#include "core/error.hpp"
#include "core/stats.hpp"

namespace save::eval {

namespace {

using Clock = std::chrono::steady_clock;

// Runs every batch once through `e`'s protection; returns ms per batch.
std::vector<double> run_batches(const LatencyEntrant& e,
                                const std::vector<std::vector<Tensor>>& batches, size_t& prepared,
                                int64_t& detections) {
  std::vector<double> ms;
  ms.reserve(batches.size());
  e.protection->begin_trial(nullptr);
  for (const std::vector<Tensor>& b : batches) {
    auto t0 = Clock::now();
    save::protect::run_protected(*e.protection, *e.session, b, prepared);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  detections += e.protection->end_trial().detections;
  return ms;
}

}  // namespace

std::vector<size_t> rotation(size_t n, int r) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = (i + static_cast<size_t>(r)) % n;
  return order;
}

InterleavedLatency measure_interleaved(const std::vector<LatencyEntrant>& entrants,
                                       const std::vector<std::vector<Tensor>>& batches, int rounds,
                                       const std::string& reference) {
  SAVE_CHECK(!entrants.empty(), "interleaved latency: no mode to time");
  SAVE_CHECK(!batches.empty(), "interleaved latency: no input batch to time");
  SAVE_CHECK(rounds >= 1, "interleaved latency: rounds must be >= 1 (got {})", rounds);
  size_t ref = entrants.size();
  for (size_t i = 0; i < entrants.size(); ++i)
    if (entrants[i].mode == reference) ref = i;
  SAVE_CHECK(ref < entrants.size(), "interleaved latency: the reference mode '{}' is not timed",
             reference);

  InterleavedLatency out;
  out.reference = reference;
  out.rounds = rounds;
  out.batches = static_cast<int64_t>(batches.size());
  out.modes.resize(entrants.size());
  std::vector<size_t> prepared(entrants.size(), 0);
  // Warm-up: untimed, and its detections count like any fault-free run's.
  for (size_t i = 0; i < entrants.size(); ++i) {
    out.modes[i].mode = entrants[i].mode;
    run_batches(entrants[i], batches, prepared[i], out.modes[i].detections);
  }
  for (int r = 0; r < rounds; ++r)
    for (size_t i : rotation(entrants.size(), r))
      out.modes[i].round_ms.push_back(
          median(run_batches(entrants[i], batches, prepared[i], out.modes[i].detections)));

  const std::vector<double>& ref_ms = out.modes[ref].round_ms;
  for (ModeLatency& m : out.modes) {
    std::vector<double> ratios;
    for (int r = 0; r < rounds; ++r)
      ratios.push_back(ref_ms[r] > 0 ? m.round_ms[r] / ref_ms[r] : 0);
    m.median_ms = median(m.round_ms);
    m.ratio_median = median(ratios);
    m.ratio_q1 = percentile(ratios, 0.25);
    m.ratio_q3 = percentile(ratios, 0.75);
  }
  return out;
}

}  // namespace save::eval
