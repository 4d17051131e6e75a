// The injector: reproducible from a seed, lands only in device memory,
// targeted flips change exactly one bit, repairs restore the golden bytes.
#include "inject/injector.hpp"

#include <gtest/gtest.h>

#include <bit>

#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace save {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/tests/data/two_inputs.onnx";

Tensor filled(Shape s, float start) {
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = start + static_cast<float>(i);
  return t;
}

// Bits that differ between every device buffer and its golden copy.
uint64_t device_weight_bit_diff(Plan& plan) {
  uint64_t diff = 0;
  for (const PlannedValue& pv : plan.values()) {
    if (pv.storage != Storage::kConstant || !pv.golden.defined()) continue;
    const auto* a = static_cast<const uint8_t*>(pv.constant.data());
    const auto* b = static_cast<const uint8_t*>(pv.golden.data());
    for (size_t i = 0; i < pv.golden.nbytes(); ++i) diff += std::popcount<uint8_t>(a[i] ^ b[i]);
  }
  return diff;
}

struct Fixture {
  Session session{import_onnx_file(kModel)};
  Tensor a = filled({4, 2, 3}, 0.f), b = filled({4, 2, 3}, 1.f);
  Plan& plan() { return session.plan_for({a, b}); }
};

TEST(Injector, SameSeedSameFlipsOtherSeedOtherFlips) {
  auto run = [](uint64_t seed) {
    Fixture f;
    FaultConfig cfg;
    cfg.flips = 5;
    Injector inj(f.session, cfg);
    inj.begin_trial(f.plan(), seed, 1);
    std::vector<std::pair<ValueId, uint64_t>> out;
    for (const auto& r : inj.applied()) out.emplace_back(r.where.value, r.where.bit);
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  EXPECT_EQ(run(42).size(), 5u);
}

TEST(Injector, AccumulatedFlipsOnlyDeviceWeightsAndRepairRestores) {
  for (Pattern p : {Pattern::kRandom, Pattern::kConsecutive, Pattern::kBurst}) {
    Fixture f;
    const Graph& g = f.session.graph();
    Tensor host_w = g.values[g.find_value("w")].constant->clone();
    FaultConfig cfg;
    cfg.pattern = p;
    cfg.flips = 7;
    cfg.burst_length = 4;
    Injector inj(f.session, cfg);
    inj.begin_trial(f.plan(), 7, 1);
    ASSERT_EQ(inj.applied().size(), 7u) << to_string(p);
    for (const auto& r : inj.applied()) {
      EXPECT_TRUE(r.weight);
      EXPECT_EQ(f.plan().values()[r.where.value].region, Region::kDevice);
    }
    // The host (golden) copy never changes; the device copy differs.
    const Tensor& host_after = *g.values[g.find_value("w")].constant;
    EXPECT_EQ(std::memcmp(host_w.data(), host_after.data(), host_w.nbytes()), 0);
    EXPECT_GT(device_weight_bit_diff(f.plan()), 0u);
    EXPECT_LE(device_weight_bit_diff(f.plan()), 7u);
    inj.end_trial();
    EXPECT_EQ(device_weight_bit_diff(f.plan()), 0u);
  }
}

TEST(Injector, ConsecutiveFlipsLowBitsOfFirstWeightBuffer) {
  Fixture f;
  FaultConfig cfg;
  cfg.pattern = Pattern::kConsecutive;
  cfg.flips = 3;
  Injector inj(f.session, cfg);
  inj.begin_trial(f.plan(), 1, 1);
  ASSERT_EQ(inj.applied().size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(inj.applied()[i].where.bit, i);
    EXPECT_EQ(inj.applied()[i].where.value, inj.applied()[0].where.value);
  }
}

TEST(Injector, MultiBitEventsStayInOneWord) {
  Fixture f;
  FaultConfig cfg;
  cfg.flips = 4;
  cfg.bits_per_word = 3;
  Injector inj(f.session, cfg);
  inj.begin_trial(f.plan(), 9, 1);
  ASSERT_EQ(inj.applied().size(), 12u);
  for (size_t e = 0; e < 4; ++e) {
    const auto& first = inj.applied()[e * 3].where;
    for (size_t k = 1; k < 3; ++k) {
      const auto& w = inj.applied()[e * 3 + k].where;
      EXPECT_EQ(w.value, first.value);
      EXPECT_EQ(w.bit / 32, first.bit / 32);
      EXPECT_EQ(w.bit, first.bit + k);
    }
  }
}

TEST(Injector, TargetedFlipChangesExactlyOneBit) {
  Fixture f;
  Plan& plan = f.plan();
  ValueId w = f.session.graph().find_value("w");
  flip_value_bit(plan, {w, 2 * 32 + 31});  // sign of element 2
  f.session.constants_changed();
  EXPECT_EQ(device_weight_bit_diff(plan), 1u);
  EXPECT_EQ(plan.values()[w].constant.ptr<float>()[2], -2.0f);
  // The flip shows in the outputs: element 2 of every row uses -w[2].
  Tensor out = f.session.run({f.a, f.b})[0];
  float want = (f.a.ptr<float>()[2] + f.b.ptr<float>()[2]) * -2.0f + 0.5f;
  EXPECT_FLOAT_EQ(out.ptr<float>()[2], want);
  EXPECT_EQ(f.session.restore_constants(), 1u);
  EXPECT_EQ(device_weight_bit_diff(plan), 0u);
}

TEST(Injector, StreamingFlipsLandInLiveMemoryDuringRuns) {
  Fixture f;
  FaultConfig cfg;
  cfg.scenario = Scenario::kStreaming;
  cfg.target = Target::kActivations;
  cfg.flips = 20;
  Injector inj(f.session, cfg);
  Plan& plan = f.plan();
  inj.begin_trial(plan, 3, 2);
  EXPECT_TRUE(inj.applied().empty());  // nothing before the runs
  f.session.set_hooks(&inj);
  f.session.run({f.a, f.b});
  f.session.run({f.a, f.b});
  f.session.set_hooks(nullptr);
  ASSERT_EQ(inj.applied().size(), 20u);
  for (const auto& r : inj.applied()) {
    EXPECT_FALSE(r.weight);
    const PlannedValue& pv = plan.values()[r.where.value];
    EXPECT_EQ(pv.storage, Storage::kArena);
    // Live at that moment: written at or before, read after.
    EXPECT_LE(pv.first_step, r.after_step);
    EXPECT_LT(r.after_step, pv.last_step);
    EXPECT_GE(r.inference, 0);
    EXPECT_LT(r.inference, 2);
  }
  EXPECT_EQ(device_weight_bit_diff(plan), 0u);  // activations only
}

TEST(MemoryMap, ListsDeviceBuffersWithLifetimes) {
  Fixture f;
  MemoryMap map(f.plan());
  auto before = map.live(-1, Target::kAll);
  for (size_t i : before) {
    const DeviceBuffer& b = map.buffers()[i];
    EXPECT_TRUE(b.weight || b.first_step == -1) << "only weights and inputs exist before step 0";
  }
  EXPECT_FALSE(map.live(-1, Target::kWeights).empty());
  EXPECT_TRUE(map.live(0, Target::kWeights).size() == map.live(-1, Target::kWeights).size());
}

}  // namespace
}  // namespace save
