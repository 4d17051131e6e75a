// Correction in place: the fingerprint's syndrome locates one flipped bit per
// chain exactly, anywhere in the buffer (every position of small buffers,
// chain boundaries and random positions of large ones), and refuses to guess
// when a chain holds two flips.
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
  for (size_t n : {1u, 2u, 7u, 8u, 9u, 17u, 64u}) {
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

TEST(FlipLocator, ChainBoundariesAndRandomPositionsOfLargeBuffers) {
  for (size_t n : {1000u, 4099u, 262147u}) {
    const auto w = random_words(n, 7);
    std::vector<size_t> words = {0, n - 1};
    for (size_t j = 1; j < 4; ++j) {
      const size_t b = fingerprint_chain(n, j).begin;
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

TEST(FlipLocator, OneFlipInEachOfSeveralChainsIsLocatedTwoInOneAreNot) {
  const size_t n = 4099;
  const auto w = random_words(n, 11);
  const size_t c1 = fingerprint_chain(n, 1).begin + 5, c3 = fingerprint_chain(n, 3).end - 1;
  auto got = located(w, {{3, 7}, {c1, 30}, {c3, 0}}, ~0u);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (std::vector<FlipSite>{{3, 7}, {c1, 30}, {c3, 0}}));
  // Two flips in one chain: CRC-32C's distance 4 keeps them from looking
  // like any single flip.
  std::mt19937 rng(5);
  const size_t q = fingerprint_chain(n, 1).begin;
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
  // A robust flip beside a non-robust one in the same chain: the robust one
  // is invisible, the other is found.
  auto got = located(w, {{10, 2}, {20, 9}}, mask);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, (std::vector<FlipSite>{{20, 9}}));
}

}  // namespace
}  // namespace save::protect
