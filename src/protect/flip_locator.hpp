// Correction in place (SAVE stage 4, "edit", at its cheapest): a stored value
// whose fingerprint no longer matches is usually one flipped bit, and the
// fingerprint itself says which one, so the bit is flipped back instead of
// re-running the producer (or everything after it).
//
// Written by hand: no library locates an error from a CRC-32C syndrome. The
// fingerprint (protect/checks.hpp) is CRC-32C with a zero initial value and
// no final xor, so it is linear: the stored fingerprint xor the one of the
// corrupted data is the CRC of the error pattern alone (its syndrome). One
// flipped bit at position t of an N-bit block has syndrome Z^(N-1-t)(P),
// where P is the reflected polynomial and Z the CRC's step over one zero bit;
// CRC-32C's Hamming distance 4 below 2^31 bits makes that position unique and
// keeps any two flips in one block from looking like one (they are reported
// as not locatable, and the caller re-runs the producer). Three or more flips
// in one 4 KiB block can look like one; the caller range-checks the corrected
// value as a second line (docs/PROTECTION.md gives the odds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "protect/checks.hpp"

namespace save::protect {

// One flipped bit: word index into the buffer, bit 0-31 within the word.
struct FlipSite {
  size_t word = 0;
  int bit = 0;
  bool operator==(const FlipSite&) const = default;
};

// The flips that turn a buffer of `words` words fingerprinted `want` (with
// `mask`) into one fingerprinted `got`, assuming one flipped bit in each block
// whose CRC differs; nullopt when a block's difference is not one bit of the
// mask (several flips there: locate nothing rather than guess). Costs at most
// 512 CRC instructions per differing block, far below re-running a kernel.
std::optional<std::vector<FlipSite>> locate_flips(const Fingerprint& want, const Fingerprint& got,
                                                  size_t words, uint32_t mask);

}  // namespace save::protect
