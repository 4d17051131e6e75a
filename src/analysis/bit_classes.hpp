// Bit attribution, per value (SAVE "Selection", phase two): from a value's
// interval, classify each of the 32 bits of a float32 by what a single flip
// of it can do to any value in the interval:
//  - robust (by numerics): the value moves by less than the tolerance;
//  - ranging: the flipped value always leaves the interval (or becomes
//    Inf/NaN), so a range check catches it;
//  - vulnerable: neither is guaranteed.
// Robust-by-operator bits (a known-negative value feeding ReLU, max-pool
// losers) depend on the consumer and are applied on top of this by the
// attribution pass.
#pragma once

#include <array>
#include <cstdint>

namespace save {

enum class BitClass : uint8_t { kRobust, kRanging, kVulnerable };

struct BitClasses {
  std::array<BitClass, 32> bit{};  // index = bit position (31 = sign)
  int count(BitClass c) const;
  uint32_t mask(BitClass c) const;  // bit i set: bit i is of class c
};

// `lo <= hi`, both finite; `tolerance` > 0 is the largest harmless change.
// Sound: a bit is called robust or ranging only when that holds for every
// float32 in [lo, hi].
BitClasses classify_bits(float lo, float hi, double tolerance);

}  // namespace save
