// abft: a corrupted weight of a Conv or Gemm makes the output checksums
// disagree; the layer's weights are reloaded from the host copy and the
// step re-run, giving the fault-free outputs bit for bit. A corrupted input
// activation is outside its reach (both sides read the same input).
#include <gtest/gtest.h>

#include "fixture.hpp"

namespace save::baselines::test {
namespace {

// Flips `bit` of element `element` of the device copy of the first graph
// weight of rank `rank`; returns its value id.
ValueId corrupt_weight(Session& s, Plan& plan, size_t rank, int64_t element, int bit) {
  for (ValueId v = 0; v < plan.values().size(); ++v) {
    PlannedValue& pv = plan.values()[v];
    if (pv.storage == Storage::kConstant && !pv.folded && pv.info.shape.size() == rank) {
      pv.constant.ptr<uint32_t>()[element] ^= 1u << bit;
      s.constants_changed();
      return v;
    }
  }
  return kNoId;
}

// (weight rank, element): a Conv filter tap, and a Gemm weight of row 5
// reading a feature from the middle of the image (one at the border reads
// ReLU zeros, so its corruption would change nothing).
class Abft : public ::testing::TestWithParam<std::pair<size_t, int64_t>> {};

TEST_P(Abft, DetectsACorruptedWeightAndRecoversFromTheHostCopy) {
  Case c("cnn", 16, "abft");
  Session& s = c.session;
  Plan& plan = c.plan();
  // The top exponent bit of a small weight: ~1e38, as wrong as it gets.
  ValueId w = corrupt_weight(s, plan, GetParam().first, GetParam().second, 30);
  ASSERT_NE(w, kNoId);
  auto abft = modes::make_protection("abft", s, quiet_options());
  abft->begin_trial(nullptr);
  auto out = run_with(s, c.x, {abft->hooks()});
  protect::ProtectionCounts n = abft->end_trial();
  EXPECT_EQ(n.detections, 1);
  EXPECT_EQ(n.recoveries, 1);
  EXPECT_EQ(n.uncorrectable, 0);
  EXPECT_TRUE(same_outputs(out, c.golden));
  const PlannedValue& pv = plan.values()[w];
  EXPECT_EQ(std::memcmp(pv.constant.data(), pv.golden.data(), pv.golden.nbytes()), 0);
  EXPECT_GT(n.reliable_bytes, 0);  // the checksum weights
}

INSTANTIATE_TEST_SUITE_P(ConvAndGemm, Abft,
                         ::testing::Values(std::pair<size_t, int64_t>{4, 3},
                                           std::pair<size_t, int64_t>{2, 5 * 3136 + 1600}));

TEST(AbftResNet, NoAlarmFaultFreeAndEveryConvWeightCovered) {
  // The ResNet has stride-2, padded 3x3 and 1x1 shortcut convolutions: the
  // checksum must agree on all of them fault-free, and catch a flip in the
  // last convolution's weights.
  Case c("resnet", 8, "abft");
  Session& s = c.session;
  auto abft = modes::make_protection("abft", s, quiet_options());
  abft->begin_trial(nullptr);
  EXPECT_TRUE(same_outputs(run_with(s, c.x, {abft->hooks()}), c.golden));
  EXPECT_EQ(abft->end_trial().detections, 0);

  Plan& plan = c.plan();
  ValueId last = kNoId;
  for (const PlannedStep& st : plan.steps())
    if (std::string_view(st.def->name) == "Conv") last = st.inputs[1];
  ASSERT_NE(last, kNoId);
  plan.values()[last].constant.ptr<uint32_t>()[100] ^= 1u << 30;
  s.constants_changed();
  abft->begin_trial(nullptr);
  EXPECT_TRUE(same_outputs(run_with(s, c.x, {abft->hooks()}), c.golden));
  protect::ProtectionCounts n = abft->end_trial();
  EXPECT_EQ(n.detections, 1);
  EXPECT_EQ(n.recoveries, 1);
}

TEST(AbftLimits, AnOutputFlipIsCaughtAnInputFlipIsNot) {
  Case c("cnn", 16, "abft");
  Session& s = c.session;
  {
    auto abft = modes::make_protection("abft", s, quiet_options());
    abft->begin_trial(nullptr);
    Flipper flip("Conv", 11, 30);  // the Conv's own output, right after the write
    auto out = run_with(s, c.x, {&flip, abft->hooks()});
    protect::ProtectionCounts n = abft->end_trial();
    EXPECT_EQ(n.detections, 1);
    EXPECT_TRUE(same_outputs(out, c.golden));
  }
  {
    auto abft = modes::make_protection("abft", s, quiet_options());
    abft->begin_trial(nullptr);
    Flipper flip("MaxPool", 11, 30);  // what the second Conv reads
    run_with(s, c.x, {&flip, abft->hooks()});
    EXPECT_EQ(abft->end_trial().detections, 0);
  }
}

}  // namespace
}  // namespace save::baselines::test
