// `--protect save` end to end on the bundled CNN: recovered runs are
// bit-identical to the fault-free run, nothing is released unchecked, a
// stuck bit is reported (not retried forever), fault-free and
// out-of-distribution inputs raise no alarm, and plans are tied to their
// model.
#include "protect/save_protection.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/hash.hpp"
#include "data/dataset.hpp"
#include "exec/hook_chain.hpp"
#include "import/onnx_import.hpp"
#include "inject/injector.hpp"
#include "modes/registry.hpp"
#include "protect/allocation.hpp"
#include "protect/mode.hpp"
#include "protect/protected_model.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "-" + std::to_string(::getpid()) + ".json"))
      .string();
}

const Tensor& images() {
  static Tensor t = slice_rows(load_dataset("fashion-mnist", "").images, 0, 32);
  return t;
}

// The step's op, with a fused node named by its base op (FusedConv: Conv):
// the tests pick a layer by what it computes, fused (the default) or not.
std::string op_of(const Plan& p, size_t step) {
  const std::string& op = p.graph().nodes[p.steps()[step].node].op;
  return op.rfind("Fused", 0) == 0 ? op.substr(5) : op;
}

bool same_bytes(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].nbytes() != b[i].nbytes() || std::memcmp(a[i].data(), b[i].data(), a[i].nbytes()))
      return false;
  return true;
}

// Flips bit `bit` of element `elem` of a value after step `step` wrote it
// (once), or, with `stuck`, before every run of step `step` (a bit that the
// repair cannot fix).
class Flipper : public ExecHooks {
 public:
  Flipper(ValueId v, size_t step, int64_t elem, int bit, bool stuck = false)
      : v_(v), step_(step), elem_(elem), bit_(bit), stuck_(stuck) {}
  void before_step(Execution& ex, size_t step) override {
    if (stuck_ && step == step_) {
      set(ex, true);
      ex.constants_changed();
    }
  }
  size_t after_step(Execution& ex, size_t step) override {
    if (!stuck_ && step == step_ && !done_) {
      flip(ex);
      done_ = true;
    }
    return step + 1;
  }
  int flips() const { return done_ ? 1 : 0; }

 private:
  void flip(Execution& ex) {
    auto* w = static_cast<uint32_t*>(ex.value(v_).data) + elem_;
    *w ^= 1u << bit_;
  }
  void set(Execution& ex, bool on) {
    auto* w = static_cast<uint32_t*>(ex.value(v_).data) + elem_;
    *w = on ? (*w | (1u << bit_)) : (*w & ~(1u << bit_));
  }
  ValueId v_;
  size_t step_;
  int64_t elem_;
  int bit_;
  bool stuck_;
  bool done_ = false;
};

struct Protected {
  Session session{import_onnx_file(kModel)};
  std::string sha = file_sha256(kModel);
  std::unique_ptr<protect::Protection> prot;
  std::vector<Tensor> golden;

  Protected() {
    golden = session.run({images()});
    protect::ProtectionOptions o;
    o.model_sha256 = sha;
    o.log = nullptr;
    // Nothing in reliable memory: every value is checked, and the flips
    // these tests place by hand (ignoring regions) all land somewhere
    // checked.
    o.reliable_mem = "0";
    prot = modes::make_protection("save", session, o);
    session.plan_for({images()});
    prot->prepare(session);
    prot->begin_trial(nullptr);
  }
  Plan& plan() { return session.plan_for({images()}); }
  // The first conv's output (after its fused activation) and the step that writes it.
  std::pair<ValueId, size_t> conv_output() {
    Plan& p = plan();
    for (size_t s = 0; s < p.steps().size(); ++s)
      if (op_of(p, s) == "Conv") return {p.steps()[s].outputs[0], s};
    ADD_FAILURE() << "no Conv";
    return {kNoId, 0};
  }
  std::vector<Tensor> run_with(ExecHooks* extra) {
    HookChain chain({extra, prot->hooks()});
    session.set_hooks(&chain);
    std::vector<Tensor> out = session.run({images()});
    session.set_hooks(nullptr);
    return out;
  }
};

TEST(SaveProtection, FaultFreeRunRaisesNothingAndMatchesUnprotected) {
  Protected s;
  std::vector<Tensor> out = s.run_with(nullptr);
  EXPECT_TRUE(same_bytes(out, s.golden));
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_EQ(c.detections, 0);
  EXPECT_EQ(c.false_alarms, 0);
  EXPECT_GT(c.reliable_bytes, 0);
}

TEST(SaveProtection, ActivationFlipIsDetectedAndRecoveredBitExactly) {
  Protected s;
  auto [v, step] = s.conv_output();
  // The largest element of the first conv's output, top mantissa bit: the
  // value changes by a factor in (1, 2) and stays inside its channel's
  // range (a vulnerable bit), so only the checksum can see it.
  // (Captured while live: the arena reuses its bytes later in the run.)
  struct Capture : ExecHooks {
    ValueId v;
    size_t step;
    std::vector<float> data;
    size_t after_step(Execution& ex, size_t st) override {
      if (st == step) {
        TensorView t = ex.value(v);
        data.assign(t.ptr<const float>(), t.ptr<const float>() + t.numel());
      }
      return st + 1;
    }
  } cap;
  cap.v = v, cap.step = step;
  s.session.set_hooks(&cap);
  s.session.run({images()});
  s.session.set_hooks(nullptr);
  int64_t elem = std::max_element(cap.data.begin(), cap.data.end()) - cap.data.begin();
  Flipper f(v, step, elem, 22);
  HookChain plain({&f});
  s.session.set_hooks(&plain);
  std::vector<Tensor> unprotected = s.session.run({images()});
  s.session.set_hooks(nullptr);
  ASSERT_FALSE(same_bytes(unprotected, s.golden)) << "the flip should matter unprotected";

  Flipper f2(v, step, elem, 22);
  std::vector<Tensor> out = s.run_with(&f2);
  EXPECT_EQ(f2.flips(), 1);
  EXPECT_TRUE(same_bytes(out, s.golden));
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_GE(c.detections, 1);
  EXPECT_EQ(c.recoveries, 1);
  EXPECT_EQ(c.uncorrectable, 0);
  // One flipped bit: located by the fingerprint and flipped back, nothing
  // re-run.
  EXPECT_EQ(c.corrections, 1);
  EXPECT_EQ(c.reexecuted_steps, 0);
  EXPECT_EQ(c.restarts, 0);

  // Two flips in one fingerprint chain cannot be located: the producer is
  // re-run instead, and the output is still the golden one.
  // (Neighbours share a chain: chains start at even words.)
  int64_t partner = elem % 2 == 0 ? elem + 1 : elem - 1;
  if (partner >= static_cast<int64_t>(cap.data.size())) partner = elem - 1;
  Flipper g1(v, step, elem, 22), g2(v, step, partner, 27);
  HookChain two({&g1, &g2, s.prot->hooks()});
  s.prot->begin_trial(nullptr);
  s.session.set_hooks(&two);
  std::vector<Tensor> out2 = s.session.run({images()});
  s.session.set_hooks(nullptr);
  EXPECT_EQ(g1.flips() + g2.flips(), 2);
  EXPECT_TRUE(same_bytes(out2, s.golden));
  protect::ProtectionCounts c2 = s.prot->end_trial();
  EXPECT_EQ(c2.recoveries, 1);
  EXPECT_EQ(c2.corrections, 0);
  EXPECT_GE(c2.reexecuted_steps, 1);
  // Restarted at the faulty op at most, not from the input.
  EXPECT_LE(c2.reexecuted_steps, static_cast<int64_t>(s.plan().steps().size()));
}

TEST(SaveProtection, OutputFlipAfterLastStepIsCaughtBeforeRelease) {
  Protected s;
  Plan& p = s.plan();
  ValueId out_v = s.session.graph().outputs[0];
  size_t last = p.steps().size() - 1;
  Flipper f(out_v, last, 3, 30);
  std::vector<Tensor> out = s.run_with(&f);
  EXPECT_EQ(f.flips(), 1);
  EXPECT_TRUE(same_bytes(out, s.golden));
  EXPECT_GE(s.prot->end_trial().recoveries, 1);
}

TEST(SaveProtection, CorruptedWeightIsRepairedFromHostCopy) {
  Protected s;
  Plan& p = s.plan();
  // The first weight of the first Conv, bit 30: a huge weight.
  ValueId w = kNoId;
  for (size_t st = 0; st < p.steps().size() && w == kNoId; ++st)
    if (op_of(p, st) == "Conv") w = p.steps()[st].inputs[1];
  ASSERT_NE(w, kNoId);
  flip_value_bit(p, {w, 30});
  s.session.constants_changed();
  std::vector<Tensor> out = s.run_with(nullptr);
  EXPECT_TRUE(same_bytes(out, s.golden));
  EXPECT_EQ(std::memcmp(p.values()[w].constant.data(), p.values()[w].golden.data(),
                        p.values()[w].golden.nbytes()),
            0);
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_GE(c.detections, 1);
  EXPECT_GE(c.recoveries, 1);
}

// After a weight fault, weights are verified before their step too: a
// later flip is repaired before any kernel reads it, and nothing re-runs.
// Without an earlier fault (a new trial) the same flip is caught after the
// step, which then re-runs.
TEST(SaveProtection, AfterAWeightFaultLaterWeightFlipsAreRepairedBeforeUse) {
  Protected s;
  Plan& p = s.plan();
  std::vector<ValueId> conv_weights;
  for (size_t st = 0; st < p.steps().size(); ++st)
    if (op_of(p, st) == "Conv") conv_weights.push_back(p.steps()[st].inputs[1]);
  ASSERT_GE(conv_weights.size(), 2u);
  const ValueId first = conv_weights[0], second = conv_weights[1];
  auto flip_and_run = [&](ValueId w) {
    flip_value_bit(p, {w, 30});
    s.session.constants_changed();
    std::vector<Tensor> out = s.run_with(nullptr);
    EXPECT_TRUE(same_bytes(out, s.golden));
    return s.prot->end_trial();
  };
  // No earlier fault: caught after the step, which re-runs.
  protect::ProtectionCounts c0 = flip_and_run(second);
  EXPECT_EQ(c0.recoveries, 1);
  EXPECT_GE(c0.reexecuted_steps, 1);
  EXPECT_EQ(c0.corrections, 0);
  // A new trial: the first fault re-runs its step and raises the alert ...
  s.prot->begin_trial(nullptr);
  protect::ProtectionCounts c1 = flip_and_run(first);
  EXPECT_EQ(c1.recoveries, 1);
  EXPECT_GE(c1.reexecuted_steps, 1);
  // ... so the next run's flip is repaired before its step reads it.
  protect::ProtectionCounts c2 = flip_and_run(second);
  EXPECT_EQ(c2.detections - c1.detections, 1);
  EXPECT_EQ(c2.recoveries - c1.recoveries, 1);
  EXPECT_EQ(c2.corrections - c1.corrections, 1);
  EXPECT_EQ(c2.reexecuted_steps, c1.reexecuted_steps);
  EXPECT_EQ(std::memcmp(p.values()[second].constant.data(), p.values()[second].golden.data(),
                        p.values()[second].golden.nbytes()),
            0);
}

TEST(SaveProtection, StuckBitIsReportedUncorrectableNotRetriedForever) {
  Protected s;
  Plan& p = s.plan();
  size_t conv = 0;
  while (op_of(p, conv) != "Conv") ++conv;
  ValueId w = p.steps()[conv].inputs[1];
  Flipper stuck(w, conv, 0, 30, /*stuck=*/true);
  s.run_with(&stuck);
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_EQ(c.uncorrectable, 1);
  const RunReport* r = s.prot->run_report();
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->uncorrectable.size(), 1u);
  EXPECT_EQ(r->uncorrectable[0].value, s.session.graph().values[w].name);
  EXPECT_EQ(r->uncorrectable[0].node, s.session.graph().nodes[p.steps()[conv].node].name);
}

TEST(SaveProtection, NoAlarmOnOutOfDistributionInputsInsideTheConstraint) {
  Protected s;
  s.run_with(nullptr);  // plan exists
  std::vector<Tensor> sets;
  Tensor noise(DType::kF32, images().shape()), inverted(DType::kF32, images().shape());
  Tensor zeros(DType::kF32, images().shape()), ones(DType::kF32, images().shape());
  uint64_t x = 12345;
  for (int64_t i = 0; i < noise.numel(); ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    noise.ptr<float>()[i] = static_cast<float>(x >> 40) / static_cast<float>(1 << 24);
    inverted.ptr<float>()[i] = 1.0f - images().ptr<const float>()[i];
    ones.ptr<float>()[i] = 1.0f;
  }
  HookChain chain({s.prot->hooks()});
  s.session.set_hooks(&chain);
  for (const Tensor* t : {&noise, &inverted, &zeros, &ones}) s.session.run({*t});
  s.session.set_hooks(nullptr);
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_EQ(c.detections, 0);
  EXPECT_EQ(c.false_alarms, 0);
  EXPECT_EQ(s.prot->run_report()->inputs_outside_constraint, 0);
}

TEST(SaveProtection, InputsOutsideTheConstraintAreReportedNotAlarmed) {
  Protected s;
  Tensor bright = images().clone();
  for (int64_t i = 0; i < bright.numel(); ++i) bright.ptr<float>()[i] *= 3.0f;
  HookChain chain({s.prot->hooks()});
  s.session.set_hooks(&chain);
  s.session.run({bright});
  s.session.set_hooks(nullptr);
  protect::ProtectionCounts c = s.prot->end_trial();
  EXPECT_EQ(c.detections, 0);
  EXPECT_EQ(s.prot->run_report()->inputs_outside_constraint, 1);
}

TEST(ProtectedModel, ThreeLineApiRunsCheckedAndRepairs) {
  ProtectedModel model(kModel);
  std::vector<Tensor> clean = model.run({images()});
  Session plain(import_onnx_file(kModel));
  EXPECT_TRUE(same_bytes(clean, plain.run({images()})));
  EXPECT_EQ(model.report().counts.detections, 0);
  // A corrupted weight is found and repaired on the next run.
  Plan& p = model.session().plan_for({images()});
  ValueId w = kNoId;
  for (size_t st = 0; st < p.steps().size() && w == kNoId; ++st)
    if (op_of(p, st) == "Gemm") w = p.steps()[st].inputs[1];
  ASSERT_NE(w, kNoId);
  flip_value_bit(p, {w, 30 + 32 * 7});
  model.session().constants_changed();
  EXPECT_TRUE(same_bytes(model.run({images()}), clean));
  EXPECT_GE(model.report().counts.recoveries, 1);
}

TEST(ProtectionPlan, RoundTripsAndIsTiedToItsModel) {
  Session session(import_onnx_file(kModel));
  std::string sha = file_sha256(kModel);
  ProtectionPlan p = build_plan(session, {}, 1e-5, sha);
  ASSERT_FALSE(p.activations.empty());
  std::string path = temp_path("plan");
  save_plan(p, path);
  ProtectionPlan q = load_plan(path, sha);
  EXPECT_EQ(q.model_sha256, sha);
  ASSERT_EQ(q.activations.size(), p.activations.size());
  for (const auto& [name, a] : p.activations) {
    const ActivationPlan& b = q.activations.at(name);
    EXPECT_EQ(a.lo, b.lo) << name;
    EXPECT_EQ(a.hi, b.hi) << name;
    EXPECT_EQ(a.nonrobust_mask, b.nonrobust_mask) << name;
  }
  try {
    load_plan(path, std::string(64, '0'));
    ADD_FAILURE() << "a plan for another model was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  { std::ofstream(path) << "{\"format\": \"save-protection-plan\", \"version\": 1, \"act"; }
  EXPECT_THROW(load_plan(path, sha), Error);
  std::filesystem::remove(path);
  EXPECT_THROW(load_plan(path, sha), Error);
}

TEST(ProtectionPlan, SaveModeRefusesAPlanForAnotherModel) {
  Session session(import_onnx_file(kModel));
  ProtectionPlan p = build_plan(session, {}, 1e-5, std::string(64, 'a'));
  std::string path = temp_path("plan-other");
  save_plan(p, path);
  protect::ProtectionOptions o;
  o.plan_path = path;
  o.model_sha256 = file_sha256(kModel);
  o.log = nullptr;
  EXPECT_THROW(modes::make_protection("save", session, o), Error);
  std::filesystem::remove(path);
}

TEST(Allocation, BudgetParsesAndPlacementStaysWithinIt) {
  EXPECT_EQ(Budget::parse("").bytes_for(1000000), 10000);
  EXPECT_EQ(Budget::parse("0.5%").bytes_for(1000000), 5000);
  EXPECT_EQ(Budget::parse("64KiB").bytes_for(1), 65536);
  EXPECT_EQ(Budget::parse("2MB").bytes_for(1), 2000000);
  EXPECT_THROW(Budget::parse("lots"), Error);
  EXPECT_THROW(Budget::parse("5 parsecs"), Error);
  EXPECT_THROW(Budget::parse("-1"), Error);

  Session session(import_onnx_file(kModel));
  ProtectionPlan pp = build_plan(session, {}, 1e-5, "");
  Plan& plan = session.plan_for({images()});
  std::vector<ValueId> checked;
  for (ValueId v = 0; v < plan.values().size(); ++v)
    if (plan.values()[v].storage == Storage::kArena &&
        pp.activations.count(session.graph().values[v].name))
      checked.push_back(v);
  for (const char* b : {"0", "1%", "10%", "100%"}) {
    Allocation a = choose_allocation(plan, pp, checked, 100, Budget::parse(b));
    EXPECT_LE(a.placed_bytes, std::max<int64_t>(0, a.budget_bytes - 100)) << b;
    EXPECT_EQ(a.placed.size() + a.left_in_device.size(), checked.size()) << b;
  }
  // The arena reuses bytes, so holding every value apart can take more
  // than the inference memory; a budget of their total places them all.
  int64_t total = 0;
  for (ValueId v : checked) total += static_cast<int64_t>(plan.values()[v].nbytes);
  Allocation all = choose_allocation(plan, pp, checked, 0, Budget::parse(std::to_string(total)));
  EXPECT_EQ(all.left_in_device.size(), 0u);
  EXPECT_EQ(all.placed_bytes, total);
  // Least robust first: placement order never goes up in robust bits.
  const Graph& g = session.graph();
  for (size_t i = 1; i < all.placed.size(); ++i)
    EXPECT_LE(pp.activations.at(g.values[all.placed[i - 1]].name).robust_bits,
              pp.activations.at(g.values[all.placed[i]].name).robust_bits);
}

}  // namespace
}  // namespace save::protect
