// Bit attribution of one interval: checked against brute force (every class
// claim holds for sampled floats inside the interval) and on the talk's
// example.
#include "analysis/bit_classes.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

namespace save {
namespace {

float flip(float x, int bit) {
  return std::bit_cast<float>(std::bit_cast<uint32_t>(x) ^ (1u << bit));
}

// Floats in [lo, hi]: the ends, their neighbours, powers of two inside, random.
std::vector<float> samples(float lo, float hi, std::mt19937& rng) {
  std::vector<float> xs = {lo, hi, std::nextafter(lo, hi), std::nextafter(hi, lo)};
  for (int e = -130; e < 130; ++e)
    for (float s : {1.0f, -1.0f}) {
      float p = s * std::ldexp(1.0f, e);
      if (p >= lo && p <= hi) {
        xs.push_back(p);
        float below = std::nextafter(p, -INFINITY);
        if (below >= lo) xs.push_back(below);
      }
    }
  if (lo <= 0 && hi >= 0) xs.push_back(0.0f);
  std::uniform_real_distribution<double> u(lo, hi);
  for (int i = 0; i < 2000; ++i) xs.push_back(static_cast<float>(u(rng)));
  return xs;
}

void check_sound(float lo, float hi, double tol, std::mt19937& rng) {
  BitClasses c = classify_bits(lo, hi, tol);
  for (float x : samples(lo, hi, rng)) {
    if (x < lo || x > hi) continue;
    for (int b = 0; b < 32; ++b) {
      float y = flip(x, b);
      BitClass k = c.bit[static_cast<size_t>(b)];
      if (k == BitClass::kRobust) {
        ASSERT_TRUE(std::isfinite(y) && std::abs(static_cast<double>(y) - x) < tol)
            << "[" << lo << ", " << hi << "] x=" << x << " bit " << b << " -> " << y;
      } else if (k == BitClass::kRanging) {
        ASSERT_TRUE(!std::isfinite(y) || y < lo || y > hi)
            << "[" << lo << ", " << hi << "] x=" << x << " bit " << b << " -> " << y;
      }
    }
  }
}

TEST(BitClasses, TalkExampleNegativeNarrowInterval) {
  // Every value in [-0.75, -0.65] shares sign and exponent: flipping any of
  // those 9 bits leaves the interval; so do the two top mantissa bits
  // (steps of 0.25 and 0.125 exceed the width 0.1).
  BitClasses c = classify_bits(-0.75f, -0.65f, 1e-5);
  for (int b = 23; b < 32; ++b) EXPECT_EQ(c.bit[b], BitClass::kRanging) << b;
  EXPECT_EQ(c.bit[22], BitClass::kRanging);
  EXPECT_EQ(c.bit[21], BitClass::kRanging);
  EXPECT_EQ(c.bit[20], BitClass::kVulnerable);
  // A flip of mantissa bit m moves the value by 2^(m-24) here: below 1e-5
  // for m <= 7.
  for (int b = 0; b <= 7; ++b) EXPECT_EQ(c.bit[b], BitClass::kRobust) << b;
  EXPECT_EQ(c.bit[8], BitClass::kVulnerable);
  EXPECT_EQ(c.count(BitClass::kRanging), 11);
  EXPECT_EQ(c.count(BitClass::kRobust), 8);
}

TEST(BitClasses, ExactValueHasNoVulnerableExponentBits) {
  BitClasses c = classify_bits(0.3f, 0.3f, 1e-5);
  for (int b = 0; b < 32; ++b) EXPECT_NE(c.bit[b], BitClass::kVulnerable) << b;
}

TEST(BitClasses, IntervalAcrossZeroLosesTheSignBit) {
  BitClasses c = classify_bits(-1.0f, 1.0f, 1e-5);
  EXPECT_EQ(c.bit[31], BitClass::kVulnerable);
  EXPECT_EQ(c.bit[30], BitClass::kRanging);  // x 2^128 always leaves [-1, 1]
}

TEST(BitClasses, SoundAgainstBruteForce) {
  std::mt19937 rng(7);
  std::vector<std::pair<float, float>> cases = {
      {0.0f, 1.0f},      {-0.75f, -0.65f}, {-3.7f, 3.4f},  {0.0f, 0.0f},    {1e-30f, 1e-20f},
      {-1e-38f, 1e-38f}, {100.0f, 1e6f},   {-2.0f, -2.0f}, {0.5f, 0.5001f}, {-1e4f, 3.0f}};
  std::uniform_real_distribution<float> mag(-8, 8);
  for (int i = 0; i < 40; ++i) {
    float a = std::ldexp(mag(rng), static_cast<int>(mag(rng) * 4)),
          b = std::ldexp(mag(rng), static_cast<int>(mag(rng) * 4));
    cases.emplace_back(std::min(a, b), std::max(a, b));
  }
  for (auto [lo, hi] : cases)
    for (double tol : {1e-5, 1e-3, 1.0}) check_sound(lo, hi, tol, rng);
}

}  // namespace
}  // namespace save
