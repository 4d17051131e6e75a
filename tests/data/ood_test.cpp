// Out-of-distribution sets (src/data/ood): inside [0, 1], what each set
// claims to be (exactly, where it is defined exactly), deterministic in the
// seed, prefix-stable, and clear errors on bad input.
#include "data/ood.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "inject/rng.hpp"

namespace save {
namespace {

constexpr int64_t kN = 5, kH = 6, kW = 7;

// kN x 1 x kH x kW images with distinct values strictly inside (0, 1).
Tensor base_images() {
  Tensor t(DType::kF32, {kN, 1, kH, kW});
  Rng rng(3);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.ptr<float>()[i] = 0.05f + 0.9f * static_cast<float>(rng.below(1000)) / 1000.0f;
  return t;
}

const float* row(const Tensor& t, int64_t i) {
  return t.ptr<float>() + i * kH * kW;
}

TEST(Ood, EverySetStaysInsideTheConstraintWithTheBaseRowShape) {
  Tensor base = base_images();
  ASSERT_EQ(ood_sets().size(), 6u);
  for (const OodSetInfo& s : ood_sets()) {
    Tensor t = make_ood_inputs(s.name, base, 12, 1);
    EXPECT_EQ(t.shape(), (Shape{12, 1, kH, kW})) << s.name;
    for (float v : t.values<float>()) {
      EXPECT_GE(v, 0.0f) << s.name;
      EXPECT_LE(v, 1.0f) << s.name;
    }
    EXPECT_FALSE(s.description.empty());
  }
}

TEST(Ood, InvertedAndConstantsAreExact) {
  Tensor base = base_images();
  Tensor inv = make_ood_inputs("inverted", base, kN + 2, 9);
  for (int64_t i = 0; i < kN + 2; ++i)  // rows cycle past the base's N
    for (int64_t k = 0; k < kH * kW; ++k) EXPECT_EQ(row(inv, i)[k], 1.0f - row(base, i % kN)[k]);
  Tensor zeros = make_ood_inputs("constant-0", base, 3, 9);
  Tensor ones = make_ood_inputs("constant-1", base, 3, 9);
  for (float v : zeros.values<float>()) EXPECT_EQ(v, 0.0f);
  for (float v : ones.values<float>()) EXPECT_EQ(v, 1.0f);
}

TEST(Ood, NoiseCoversTheRangeAndIsNotAnImage) {
  Tensor t = make_ood_inputs("noise", base_images(), 50, 4);
  double sum = 0;
  float lo = 1, hi = 0;
  for (float v : t.values<float>()) sum += v, lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_NEAR(sum / static_cast<double>(t.numel()), 0.5, 0.02);
  EXPECT_LT(lo, 0.01f);
  EXPECT_GT(hi, 0.99f);
}

// Each shifted image is its base image translated by a non-zero (dy, dx)
// of at most kOodMaxShift per axis, zeros where nothing moved in.
TEST(Ood, ShiftedIsATranslationWithZeroFill) {
  Tensor base = base_images();
  Tensor t = make_ood_inputs("shifted", base, kN, 2);
  for (int64_t i = 0; i < kN; ++i) {
    int matches = 0;
    for (int dy = -kOodMaxShift; dy <= kOodMaxShift; ++dy)
      for (int dx = -kOodMaxShift; dx <= kOodMaxShift; ++dx) {
        if (dy == 0 && dx == 0) continue;
        bool same = true;
        for (int64_t y = 0; y < kH && same; ++y)
          for (int64_t x = 0; x < kW && same; ++x) {
            int64_t sy = y - dy, sx = x - dx;
            float want = sy >= 0 && sy < kH && sx >= 0 && sx < kW ? row(base, i)[sy * kW + sx] : 0;
            same = row(t, i)[y * kW + x] == want;
          }
        matches += same;
      }
    EXPECT_EQ(matches, 1) << "image " << i;
  }
}

// Rescaling by a positive contrast keeps the pixel order and changes the
// image; clamping makes ties at 0 and 1 only.
TEST(Ood, RescaledKeepsPixelOrderAndChangesValues) {
  Tensor base = base_images();
  Tensor t = make_ood_inputs("rescaled", base, kN, 5);
  for (int64_t i = 0; i < kN; ++i) {
    const float *b = row(base, i), *r = row(t, i);
    EXPECT_NE(std::memcmp(b, r, sizeof(float) * kH * kW), 0);
    for (int64_t p = 0; p < kH * kW; ++p)
      for (int64_t q = 0; q < kH * kW; ++q)
        if (b[p] < b[q]) {
          EXPECT_LE(r[p], r[q]);
        }
  }
}

TEST(Ood, DeterministicInTheSeedAndPrefixStable) {
  Tensor base = base_images();
  for (const char* name : {"noise", "shifted", "rescaled"}) {
    Tensor a = make_ood_inputs(name, base, 8, 11), b = make_ood_inputs(name, base, 8, 11);
    Tensor c = make_ood_inputs(name, base, 8, 12), prefix = make_ood_inputs(name, base, 3, 11);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << name;
    EXPECT_NE(std::memcmp(a.data(), c.data(), a.nbytes()), 0) << name;
    EXPECT_EQ(std::memcmp(a.data(), prefix.data(), prefix.nbytes()), 0) << name;
  }
}

TEST(Ood, RankTwoInputsShiftAlongTheRow) {
  Tensor base(DType::kF32, {2, 10});
  for (int64_t i = 0; i < base.numel(); ++i) base.ptr<float>()[i] = 0.1f + 0.05f * (i % 10);
  Tensor t = make_ood_inputs("shifted", base, 2, 1);
  EXPECT_EQ(t.shape(), (Shape{2, 10}));
  EXPECT_NE(std::memcmp(t.data(), base.data(), base.nbytes()), 0);
}

TEST(Ood, BadInputIsAClearError) {
  Tensor base = base_images();
  EXPECT_THROW(make_ood_inputs("sepia", base, 2, 1), Error);
  EXPECT_THROW(make_ood_inputs("noise", base, -1, 1), Error);
  Tensor wide = base.clone();
  wide.ptr<float>()[3] = 1.5f;
  try {
    make_ood_inputs("inverted", wide, 2, 1);
    FAIL() << "a base outside [0, 1] must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[0, 1]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_ood_inputs("noise", Tensor(DType::kI64, {2, 3}), 2, 1), Error);
  EXPECT_THROW(make_ood_inputs("noise", Tensor(DType::kF32, {0, 3}), 2, 1), Error);
}

}  // namespace
}  // namespace save
