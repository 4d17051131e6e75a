// Adds the wall time of a scope, in milliseconds, to a counter (and to a
// second one, a total, when given): the check-time accounting of every
// protection mode.
#pragma once

#include <chrono>

namespace save {

class ScopedMs {
 public:
  explicit ScopedMs(double& ms, double* total = nullptr)
      : ms_(ms), total_(total), t0_(std::chrono::steady_clock::now()) {}
  ~ScopedMs() {
    double d =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    ms_ += d;
    if (total_) *total_ += d;
  }
  ScopedMs(const ScopedMs&) = delete;
  ScopedMs& operator=(const ScopedMs&) = delete;

 private:
  double& ms_;
  double* total_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace save
