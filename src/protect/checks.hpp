// The runtime checks of `--protect save`, written by hand because no library
// offers them: a per-channel range check over float32 tensors, written so the
// compiler vectorises it (no short-circuit `&&`: every lane computes every
// comparison), and a CRC-32C fingerprint of a buffer's non-robust bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace save::protect {

// A tensor seen as [outer, channels, inner]; channel c's bounds are lo[c],
// hi[c] (one channel: the whole tensor). NaN fails every range check.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// A fingerprint of the non-robust bits of a buffer: CRC-32C (the
// Castagnoli polynomial, hardware instruction on x86-64-v2 and later) of the
// masked words, one CRC per block of kFingerprintBlockWords words (4 KiB),
// in four independent chains so the instruction's latency is hidden. CRC-32C detects every error of
// up to 3 flipped bits in a block (Hamming distance 4 for messages below 2^31 bits) and every burst
// of up to 32 bits; a plain sum would miss two flips of the same bit position in opposite
// directions, which streaming campaigns do produce. Blocks rather than one CRC per value so that a
// failed check says where: one flipped bit per block is located and flipped back
// (protect/flip_locator.hpp), which stays true under many flips per value. The CRCs are check
// metadata, kept in reliable memory: 4 bytes per 4 KiB.
struct Fingerprint {
  std::vector<uint32_t> crc;  // one per block
  bool operator==(const Fingerprint&) const = default;
};

inline constexpr size_t kFingerprintBlockWords = 1024;
// The layout: four chains over four contiguous quarters of the value (an
// even number of words each, the tail in chain 3), each chain cut into
// blocks of kFingerprintBlockWords from its start; blocks are numbered chain
// by chain. Quarters rather than neighbouring blocks keep each chain a long
// sequential stream (the prefetchers follow it: 15% faster than four
// neighbouring 4 KiB blocks at 12 MB), and a small value still gets four
// chains.
inline size_t fingerprint_quarter(size_t words) {
  return (words / 8) * 2;
}
inline size_t fingerprint_blocks(size_t words) {
  const size_t q = fingerprint_quarter(words), k = kFingerprintBlockWords;
  return 3 * ((q + k - 1) / k) + (words - 3 * q + k - 1) / k;
}
// The words block j covers: [begin, end).
struct BlockSpan {
  size_t begin = 0, end = 0;
};
inline BlockSpan fingerprint_block(size_t words, size_t j) {
  const size_t q = fingerprint_quarter(words), k = kFingerprintBlockWords;
  const size_t per = (q + k - 1) / k;  // blocks of chains 0-2
  if (j < 3 * per) {
    const size_t c = j / per, b = c * q + (j % per) * k;
    return {b, b + k < (c + 1) * q ? b + k : (c + 1) * q};
  }
  const size_t b = 3 * q + (j - 3 * per) * k;
  return {b, b + k < words ? b + k : words};
}

// Range check of every element (the write-time check, and the read-time
// check of a value with no vulnerable bit).
bool range_check(const float* x, const ChannelLayout& l, const float* lo, const float* hi);
// The fingerprint of (word & mask) over `words` 32-bit words; _into reuses
// `out`'s storage (no allocation once sized), _matches compares on the fly.
Fingerprint masked_crc(const void* data, size_t words, uint32_t mask);
void masked_crc_into(const void* data, size_t words, uint32_t mask, Fingerprint& out);
bool masked_crc_matches(const void* data, size_t words, uint32_t mask, const Fingerprint& want);
// The write-time check of a value with vulnerable bits in one pass: the
// range check of every element and masked_crc(x, numel, mask) into `sum`,
// block by block, so each cache line is brought in once and checked and
// fingerprinted while it sits in L1. Returns the range check's verdict; the
// fingerprint is always computed.
bool range_check_and_crc(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                         uint32_t mask, Fingerprint& sum);

}  // namespace save::protect
