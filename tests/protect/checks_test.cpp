// The runtime checks: range checks fail on out-of-range values and NaN, and
// the fingerprint sees what a sum would miss (two flips of one bit position
// in opposite directions) while ignoring the masked-out (robust) bits.
#include "protect/checks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// Each block's CRC is CRC-32C (zero initial value, no final xor: linear,
// which flip_locator relies on) of the block's masked words, against a
// bit-by-bit reference; masked_crc_matches agrees with comparing fingerprints.
TEST(Checks, FingerprintIsTheCrc32cOfEachMaskedBlock) {
  auto reference = [](const uint32_t* w, size_t n, uint32_t mask) {
    uint32_t c = 0;
    for (size_t i = 0; i < n; ++i)
      for (int byte = 0; byte < 4; ++byte) {
        c ^= ((w[i] & mask) >> (8 * byte)) & 0xffu;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0u);
      }
    return c;
  };
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{3}, kFingerprintBlockWords, kFingerprintBlockWords + 1,
        4 * kFingerprintBlockWords, 7 * kFingerprintBlockWords + 5}) {
    std::vector<uint32_t> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<uint32_t>(i * 2654435761u + 12345u);
    const uint32_t mask = 0xFFFF00FFu;
    Fingerprint f = masked_crc(w.data(), n, mask);
    ASSERT_EQ(f.crc.size(), fingerprint_blocks(n));
    // Four chains for every value of at least 8 words.
    if (n >= 8) {
      EXPECT_GE(f.crc.size(), 4u) << n;
    }
    size_t covered = 0;  // the blocks tile the value, none over 4 KiB
    for (size_t j = 0; j < f.crc.size(); ++j) {
      const BlockSpan b = fingerprint_block(n, j);
      EXPECT_LE(b.end - b.begin, kFingerprintBlockWords);
      covered += b.end - b.begin;
    }
    EXPECT_EQ(covered, n);
    for (size_t j = 0; j < f.crc.size(); ++j) {
      const BlockSpan b = fingerprint_block(n, j);
      EXPECT_EQ(f.crc[j], reference(w.data() + b.begin, b.end - b.begin, mask)) << n << " " << j;
    }
    EXPECT_TRUE(masked_crc_matches(w.data(), n, mask, f));
    if (n == 0) continue;
    w[n - 1] ^= 1u << 31;
    EXPECT_FALSE(masked_crc_matches(w.data(), n, mask, f)) << n;
    w[n - 1] ^= 1u << 31;
    w[0] ^= 1u << 9;  // masked out
    EXPECT_TRUE(masked_crc_matches(w.data(), n, mask, f)) << n;
  }
}

// The one-pass write check gives exactly the verdict of range_check and the
// fingerprint of masked_crc, for every layout kind and for sizes around the
// block and quarter boundaries, with the bad element anywhere.
TEST(Checks, OnePassWriteCheckMatchesRangeCheckAndFingerprint) {
  const ChannelLayout layouts[] = {{1, 1, 0}, {1, 7, 1}, {0, 5, 9}, {0, 3, 1000}};
  for (ChannelLayout base : layouts)
    for (int64_t n : {1, 7, 8, 9, 1023, 1024, 1025, 2049, 4095, 4096, 4097, 4096 + 24, 20000}) {
      ChannelLayout l = base;
      if (l.inner == 0) l.inner = n;  // one range for the whole tensor
      if (l.outer == 0) l.outer = std::max<int64_t>(1, n / (l.channels * l.inner));
      const int64_t numel = l.outer * l.channels * l.inner;
      std::vector<float> lo(static_cast<size_t>(l.channels)), hi(lo.size());
      for (size_t c = 0; c < lo.size(); ++c) lo[c] = static_cast<float>(c), hi[c] = c + 1.0f;
      std::vector<float> x(static_cast<size_t>(numel));
      for (int64_t e = 0; e < numel; ++e) {
        int64_t c = (e / l.inner) % l.channels;
        x[static_cast<size_t>(e)] = static_cast<float>(c) + 0.001f * static_cast<float>(e % 997);
      }
      const uint32_t mask = 0xff800000u;
      Fingerprint sum;
      ASSERT_TRUE(range_check_and_crc(x.data(), l, lo.data(), hi.data(), mask, sum)) << numel;
      EXPECT_EQ(sum, masked_crc(x.data(), static_cast<size_t>(numel), mask)) << numel;
      for (int64_t bad : {int64_t{0}, numel / 3, numel / 2 + 1, numel - 1}) {
        if (bad >= numel) continue;
        std::vector<float> y = x;
        y[static_cast<size_t>(bad)] = bad % 2 ? NAN : -1.0f;
        EXPECT_FALSE(range_check_and_crc(y.data(), l, lo.data(), hi.data(), mask, sum))
            << numel << " at " << bad;
        EXPECT_EQ(sum, masked_crc(y.data(), static_cast<size_t>(numel), mask)) << numel;
        EXPECT_FALSE(range_check(y.data(), l, lo.data(), hi.data()));
      }
    }
}

}  // namespace
}  // namespace save::protect
