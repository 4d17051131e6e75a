// The runtime checks of `--protect save`, written by hand because no library
// offers them: a per-channel range check over float32 tensors, written so the
// compiler vectorises it (no short-circuit `&&`: every lane computes every
// comparison), and a CRC-32C fingerprint of a buffer's non-robust bits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace save::protect {

// A tensor seen as [outer, channels, inner]; channel c's bounds are lo[c],
// hi[c] (one channel: the whole tensor). NaN fails every range check.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// A fingerprint of the non-robust bits of a buffer: CRC-32C (the
// Castagnoli polynomial, hardware instruction on x86-64-v2 and later) of the
// masked words, in four independent chains over four quarters of the buffer
// so the instruction's latency is hidden. CRC-32C detects every error of up
// to 3 flipped bits in each quarter (Hamming distance 4 for messages below
// 2^31 bits) and every burst of up to 32 bits; a plain sum would miss two
// flips of the same bit position in opposite directions, which streaming
// campaigns do produce.
struct Fingerprint {
  uint32_t crc[4] = {0, 0, 0, 0};
  bool operator==(const Fingerprint&) const = default;
};

// The words fingerprint chain j (0-3) covers among `words`: four contiguous
// quarters of an even number of words each, the tail going to chain 3. One
// definition for the fingerprint and for locating flips from it
// (protect/flip_locator.hpp).
struct ChainSpan {
  size_t begin = 0, end = 0;
};
inline ChainSpan fingerprint_chain(size_t words, size_t j) {
  const size_t q = (words / 8) * 2;
  return {j * q, j == 3 ? words : (j + 1) * q};
}

// Range check of every element (the write-time check, and the read-time
// check of a value with no vulnerable bit).
bool range_check(const float* x, const ChannelLayout& l, const float* lo, const float* hi);
// The fingerprint of (word & mask) over `words` 32-bit words.
Fingerprint masked_crc(const void* data, size_t words, uint32_t mask);
// The write-time check of a value with vulnerable bits in one pass: the
// range check of every element and masked_crc(x, numel, mask) into `sum`,
// block by block, so each cache line is brought in once and checked and
// fingerprinted while it sits in L1. Returns the range check's verdict; the
// fingerprint is always computed.
bool range_check_and_crc(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                         uint32_t mask, Fingerprint& sum);

}  // namespace save::protect
