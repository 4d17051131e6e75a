#include "protect/checks.hpp"

#include <cstring>

namespace save::protect {

namespace {

// Counts out-of-range (or NaN) elements of one channel run and adds the
// masked bits to `sum`. Branch-free so it vectorises.
inline uint32_t run_check(const float* x, int64_t n, float lo, float hi, uint32_t mask,
                          uint32_t& sum) {
  uint32_t bad = 0, s = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bad |= static_cast<uint32_t>(!(v >= lo)) | static_cast<uint32_t>(!(v <= hi));
    s += bits & mask;
  }
  sum += s;
  return bad;
}

}  // namespace

CheckResult range_check_and_sum(const float* x, const ChannelLayout& l, const float* lo,
                                const float* hi, uint32_t mask) {
  CheckResult r;
  uint32_t bad = 0, sum = 0;
  if (l.inner == 1 && l.channels > 1) {
    // [outer, channels]: vectorise across channels.
    for (int64_t o = 0; o < l.outer; ++o) {
      const float* row = x + o * l.channels;
      uint32_t s = 0;
      for (int64_t c = 0; c < l.channels; ++c) {
        float v = row[c];
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        bad |= static_cast<uint32_t>(!(v >= lo[c])) | static_cast<uint32_t>(!(v <= hi[c]));
        s += bits & mask;
      }
      sum += s;
    }
  } else {
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t c = 0; c < l.channels; ++c)
        bad |= run_check(x + (o * l.channels + c) * l.inner, l.inner, lo[c], hi[c], mask, sum);
  }
  r.in_range = bad == 0;
  r.checksum = sum;
  return r;
}

bool range_check(const float* x, const ChannelLayout& l, const float* lo, const float* hi) {
  return range_check_and_sum(x, l, lo, hi, 0).in_range;
}

uint32_t masked_sum(const void* data, size_t words, uint32_t mask) {
  const auto* p = static_cast<const uint32_t*>(data);
  uint32_t s = 0;
  for (size_t i = 0; i < words; ++i) s += p[i] & mask;
  return s;
}

}  // namespace save::protect
