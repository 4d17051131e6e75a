// The runtime checks: range checks fail on out-of-range values and NaN, and
// the fingerprint sees what a sum would miss (two flips of one bit position
// in opposite directions) while ignoring the masked-out (robust) bits.
#include "protect/checks.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace save::protect {
namespace {

TEST(Checks, RangeCheckPerChannelCatchesOutOfRangeAndNaN) {
  // [2, 3, 4]: channel c in [c, c + 1].
  std::vector<float> x(24), lo = {0, 1, 2}, hi = {1, 2, 3};
  for (int o = 0; o < 2; ++o)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 4; ++i) x[(o * 3 + c) * 4 + i] = static_cast<float>(c) + 0.25f * i;
  ChannelLayout l{2, 3, 4};
  EXPECT_TRUE(range_check(x.data(), l, lo.data(), hi.data()));
  for (float bad : {-0.1f, 3.5f, NAN, INFINITY}) {
    std::vector<float> y = x;
    y[17] = bad;  // channel 1 of row 1
    EXPECT_FALSE(range_check(y.data(), l, lo.data(), hi.data())) << bad;
  }
  // [outer, channels] with inner 1 takes the vectorised-across-channels path.
  std::vector<float> z = {0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 9.0f};
  EXPECT_FALSE(range_check(z.data(), ChannelLayout{2, 3, 1}, lo.data(), hi.data()));
  z[5] = 2.0f;
  EXPECT_TRUE(range_check(z.data(), ChannelLayout{2, 3, 1}, lo.data(), hi.data()));
}

TEST(Checks, FingerprintCatchesOppositeFlipsOfOneBitAndIgnoresMaskedBits) {
  for (size_t n : {1u, 7u, 8u, 1000u, 4099u}) {
    std::vector<uint32_t> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<uint32_t>(i * 2654435761u);
    const uint32_t mask = 0xFFFFFF00u;  // low 8 bits robust
    Fingerprint f = masked_crc(w.data(), n, mask);
    // A robust bit: same fingerprint.
    w[n / 2] ^= 1u << 3;
    EXPECT_EQ(masked_crc(w.data(), n, mask), f) << n;
    w[n / 2] ^= 1u << 3;
    for (int b : {8, 16, 30, 31}) {
      std::vector<uint32_t> v = w;
      v[n - 1] ^= 1u << b;
      EXPECT_NE(masked_crc(v.data(), n, mask), f) << n << " bit " << b;
      if (n < 2) continue;
      // Bit b set in one word and clear in another, both flipped: a sum of
      // the words would not change.
      std::vector<uint32_t> u = w;
      u[0] |= 1u << b;
      u[n - 1] &= ~(1u << b);
      Fingerprint g = masked_crc(u.data(), n, mask);
      u[0] ^= 1u << b;
      u[n - 1] ^= 1u << b;
      EXPECT_NE(masked_crc(u.data(), n, mask), g) << n << " bit " << b;
    }
  }
}

}  // namespace
}  // namespace save::protect
