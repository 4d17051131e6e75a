// The runtime checks of `--protect save`, written by hand because no library
// offers them: a per-channel range check and a masked checksum over float32
// tensors, in one pass, written so the compiler vectorises them (no
// short-circuit `&&`: every lane computes every comparison).
#pragma once

#include <cstddef>
#include <cstdint>

namespace save::protect {

// A tensor seen as [outer, channels, inner]; channel c's bounds are lo[c],
// hi[c] (one channel: the whole tensor). NaN fails every range check.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

struct CheckResult {
  bool in_range = true;
  uint32_t checksum = 0;  // sum mod 2^32 of (bits & mask) over all elements
};

// Range check and checksum in one pass (the write-time check: the data is
// hot). With mask == 0 the checksum is skipped.
CheckResult range_check_and_sum(const float* x, const ChannelLayout& l, const float* lo,
                                const float* hi, uint32_t mask);
// Range check only (the read-time check of a value with no vulnerable bit).
bool range_check(const float* x, const ChannelLayout& l, const float* lo, const float* hi);
// Checksum only (the read-time check of a value with vulnerable bits). A
// single flipped bit inside `mask` always changes the sum (by 2^b mod 2^32).
uint32_t masked_sum(const void* data, size_t words, uint32_t mask);

}  // namespace save::protect
