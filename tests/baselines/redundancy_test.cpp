// dmr, tmr and ecc on the bundled CNN: a flip in an activation the moment
// it is written is caught and the outputs are the fault-free ones bit for
// bit; fault-free runs raise nothing; ecc leaves the injector nothing to flip.
#include <gtest/gtest.h>

#include "fixture.hpp"
#include "inject/injector.hpp"

namespace save::baselines::test {
namespace {

TEST(Dmr, CatchesAnActivationFlipAndReRunsTheStep) {
  Case c;
  auto dmr = modes::make_protection("dmr", c.session, quiet_options());
  ASSERT_NE(dmr, nullptr);
  dmr->prepare(c.session);
  dmr->begin_trial(nullptr);
  Flipper flip("Conv", 5, 30);  // exponent bit: a huge value
  auto out = run_with(c.session, c.x, {&flip, dmr->hooks()});
  protect::ProtectionCounts n = dmr->end_trial();
  EXPECT_EQ(flip.flips, 1);
  EXPECT_TRUE(same_outputs(out, c.golden));
  EXPECT_EQ(n.detections, 1);
  EXPECT_EQ(n.recoveries, 1);
  EXPECT_EQ(n.reexecuted_steps, 1);
  EXPECT_EQ(n.uncorrectable, 0);
}

TEST(Dmr, CannotSeeAFlippedWeight) {
  // Both copies read the same flipped weight and agree: DMR in time is
  // blind to memory faults in its inputs (docs/BASELINES.md).
  Case c;
  auto dmr = modes::make_protection("dmr", c.session, quiet_options());
  Plan& plan = c.plan();
  for (PlannedValue& pv : plan.values())
    if (pv.storage == Storage::kConstant && !pv.folded && pv.info.shape.size() == 4) {
      pv.constant.ptr<uint32_t>()[0] ^= 1u << 30;
      break;
    }
  c.session.constants_changed();
  dmr->begin_trial(nullptr);
  auto out = run_with(c.session, c.x, {dmr->hooks()});
  EXPECT_EQ(dmr->end_trial().detections, 0);
  EXPECT_FALSE(same_outputs(out, c.golden));
}

TEST(Tmr, VotesOutEveryCorruptedElement) {
  Case c;
  auto tmr = modes::make_protection("tmr", c.session, quiet_options());
  tmr->begin_trial(nullptr);
  Flipper a("Conv", 7, 30), b("Gemm", 3, 31);  // two steps, two elements
  auto out = run_with(c.session, c.x, {&a, &b, tmr->hooks()});
  protect::ProtectionCounts n = tmr->end_trial();
  EXPECT_TRUE(same_outputs(out, c.golden));
  EXPECT_EQ(n.detections, 2);
  EXPECT_EQ(n.recoveries, 2);
  EXPECT_EQ(n.uncorrectable, 0);
}

TEST(RedundancyModes, NoAlarmOnFaultFreeRuns) {
  Case c;
  Tensor x = images(64);
  std::vector<Tensor> golden = c.session.run({x});
  for (const char* mode : {"dmr", "tmr", "ecc", "abft"}) {
    auto p = modes::make_protection(mode, c.session, quiet_options());
    p->prepare(c.session);
    p->begin_trial(nullptr);
    auto out = run_with(c.session, x, {p->hooks()});
    protect::ProtectionCounts n = p->end_trial();
    EXPECT_EQ(n.detections, 0) << mode;
    EXPECT_TRUE(same_outputs(out, golden)) << mode;
  }
}

TEST(Ecc, EverythingReliableSoNoFlipLands) {
  Case c;
  auto ecc = modes::make_protection("ecc", c.session, quiet_options());
  Plan& plan = c.plan();
  ecc->prepare(c.session);
  FaultConfig cfg;
  cfg.flips = 1000;
  cfg.scenario = Scenario::kStreaming;
  cfg.target = Target::kAll;
  Injector inj(c.session, cfg);
  inj.begin_trial(plan, 1, 1);
  ecc->begin_trial(&inj);
  auto out = run_with(c.session, c.x, {&inj, ecc->hooks()});
  protect::ProtectionCounts n = ecc->end_trial();
  inj.end_trial();
  EXPECT_TRUE(inj.applied().empty());
  EXPECT_TRUE(same_outputs(out, c.golden));
  // All of inference memory: the weights plus the arena.
  int64_t weights = 0;
  for (const Value& v : c.session.graph().values)
    if (v.constant) weights += static_cast<int64_t>(v.constant->nbytes());
  EXPECT_EQ(n.reliable_bytes, weights + static_cast<int64_t>(plan.arena_bytes()));
}

// The one mode list feeds the factory, the help and the names: every listed
// mode is made under its own name, an unknown one is refused naming them all.
TEST(Registry, EveryListedModeIsMadeUnderItsNameAndNothingElse) {
  Case c;
  ASSERT_FALSE(modes::mode_names(true).empty());
  for (const std::string& m : modes::mode_names()) {
    auto p = modes::make_protection(m, c.session, quiet_options());
    ASSERT_NE(p, nullptr) << m;
    EXPECT_EQ(p->name(), m);
  }
  for (const std::string& b : modes::mode_names(true))
    EXPECT_NE(modes::protect_help().find(b), std::string::npos) << b;
  try {
    modes::make_protection("nonesuch", c.session, quiet_options());
    FAIL() << "an unknown mode was accepted";
  } catch (const Error& e) {
    for (const std::string& m : modes::mode_names())
      EXPECT_NE(std::string(e.what()).find(m), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace save::baselines::test
