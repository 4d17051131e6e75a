// Correction in place: the fingerprint's syndrome locates one flipped bit per
// block exactly, anywhere in the buffer (every position of small buffers,
// block boundaries and random positions of large ones), and refuses to guess
// when a block holds two flips.
#include "protect/flip_locator.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace save::protect {
namespace {

std::vector<uint32_t> random_words(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> w(n);
  for (auto& x : w) x = static_cast<uint32_t>(rng());
  return w;
}

// Flips `sites` in a copy of w and returns what locate_flips makes of it.
std::optional<std::vector<FlipSite>> located(const std::vector<uint32_t>& w,
                                             const std::vector<FlipSite>& sites, uint32_t mask) {
  std::vector<uint32_t> v = w;
  for (const FlipSite& f : sites) v[f.word] ^= 1u << f.bit;
  return locate_flips(masked_crc(w.data(), w.size(), mask), masked_crc(v.data(), v.size(), mask),
                      w.size(), mask);
}

TEST(FlipLocator, EveryBitOfSmallBuffersIsLocated) {
  // Up to two blocks, the second partial: every bit of each.
  for (size_t n : {1u, 2u, 7u, 9u, 64u, 1025u}) {
    const auto w = random_words(n, static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; ++i)
      for (int b = 0; b < 32; ++b) {
        auto got = located(w, {{i, b}}, ~0u);
        ASSERT_TRUE(got.has_value()) << n << " word " << i << " bit " << b;
        ASSERT_EQ(got->size(), 1u);
        EXPECT_EQ((*got)[0], (FlipSite{i, b})) << n;
      }
  }
}

TEST(FlipLocator, BlockBoundariesAndRandomPositionsOfLargeBuffers) {
  // Full groups of four blocks, a partial last group, a partial last block.
  for (size_t n : {size_t{4096}, size_t{4099}, 9 * kFingerprintBlockWords + 3, size_t{262147}}) {
    const auto w = random_words(n, 7);
    std::vector<size_t> words = {0, n - 1};
    for (size_t j = 1; j < fingerprint_blocks(n); j += 3) {
      const size_t b = fingerprint_block(n, j).begin;
      words.push_back(b - 1);
      words.push_back(b);
    }
    std::mt19937 rng(3);
    for (int k = 0; k < 40; ++k) words.push_back(rng() % n);
    for (size_t i : words) {
      const int b = static_cast<int>(rng() % 32);
      auto got = located(w, {{i, b}}, ~0u);
      ASSERT_TRUE(got.has_value()) << n << " word " << i;
      ASSERT_EQ(got->size(), 1u);
      EXPECT_EQ((*got)[0], (FlipSite{i, b})) << n;
    }
  }
}

TEST(FlipLocator, OneFlipInEachOfSeveralBlocksIsLocatedTwoInOneAreNot) {
  const size_t n = 9 * kFingerprintBlockWords + 3;
  const auto w = random_words(n, 11);
  const size_t c1 = fingerprint_block(n, 1).begin + 5, c5 = fingerprint_block(n, 5).end - 1,
               c9 = n - 1;
  auto got = located(w, {{3, 7}, {c1, 30}, {c5, 0}, {c9, 31}}, ~0u);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (std::vector<FlipSite>{{3, 7}, {c1, 30}, {c5, 0}, {c9, 31}}));
  // Two flips in one block: CRC-32C's distance 4 keeps them from looking
  // like any single flip.
  std::mt19937 rng(5);
  const size_t q = fingerprint_block(n, 0).end;
  for (int k = 0; k < 200; ++k) {
    FlipSite a{rng() % q, static_cast<int>(rng() % 32)}, b{rng() % q, static_cast<int>(rng() % 32)};
    if (a == b) continue;
    EXPECT_FALSE(located(w, {a, b}, ~0u).has_value()) << a.word << " " << b.word;
  }
}

TEST(FlipLocator, MaskedBitsAreNeverReported) {
  const uint32_t mask = 0xFFFFFF00u;  // low 8 bits robust
  const auto w = random_words(1000, 13);
  // A robust bit does not change the fingerprint: nothing to correct.
  auto none = located(w, {{500, 3}}, mask);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  for (int b = 8; b < 32; ++b) {
    auto got = located(w, {{500, b}}, mask);
    ASSERT_TRUE(got.has_value()) << b;
    EXPECT_EQ(*got, (std::vector<FlipSite>{{500, b}}));
  }
  // A robust flip beside a non-robust one in the same block: the robust one
  // is invisible, the other is found.
  auto got = located(w, {{10, 2}, {20, 9}}, mask);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (std::vector<FlipSite>{{20, 9}}));
}

}  // namespace
}  // namespace save::protect
