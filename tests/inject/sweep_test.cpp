// The exhaustive sweep (inject/sweep.hpp) on small models: each record must
// equal a brute-force run from scratch with the bit flipped in the model
// itself, and the sweep must leave the device weights golden.
#include "inject/sweep.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "import/onnx_import.hpp"
#include "inject/injector.hpp"

namespace save {
namespace {

// out[n, k] = (a + b) * w + c over the trailing 2x3, w = 0..5, c = 0.5.
const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/tests/data/two_inputs.onnx";

std::vector<Tensor> batch_inputs() {
  Tensor a(DType::kF32, {3, 2, 3}), b(DType::kF32, {3, 2, 3});
  for (int64_t i = 0; i < a.numel(); ++i) {
    a.ptr<float>()[i] = 0.25f * static_cast<float>(i % 7) - 0.6f;
    b.ptr<float>()[i] = 0.1f * static_cast<float>(i % 5) + 0.05f;
  }
  return {a, b};
}

std::vector<Tensor> brute_force(const std::string& tensor, int64_t element, int bit,
                                const std::vector<Tensor>& inputs) {
  Graph g = import_onnx_file(kModel);
  Tensor& w = *g.values[g.find_value(tensor)].constant;
  flip_bit(static_cast<std::byte*>(w.data()), static_cast<uint64_t>(element) * 32 + bit);
  Session fresh(std::move(g));
  return fresh.run(inputs);
}

SweepOptions of(std::vector<std::string> tensors) {
  SweepOptions o;
  o.tensors = std::move(tensors);
  return o;
}

SweepOptions everything(bool verify) {
  SweepOptions o;
  o.all_weights = true;
  o.verify = verify;
  return o;
}

SweepOptions with_bits(SweepOptions o, const std::string& bits, int64_t sample = 0,
                       uint64_t seed = 0) {
  o.bit_positions = parse_bit_positions(bits);
  o.sample = sample;
  o.seed = seed;
  return o;
}

struct Seen {
  std::string tensor;
  BitEffect effect;
  Tensor output;  // the partial re-run's output, still in the arena at callback time
};

std::vector<Seen> sweep_all(Session& s, const std::vector<Tensor>& in, SweepOptions o) {
  Sweep sw(s, in, std::move(o));
  std::vector<Seen> seen;
  sw.run([&](const SweepTensor& t, const BitEffect& e) {
    seen.push_back({t.name, e, s.collect_outputs(s.plan_for(in))[0]});
  });
  return seen;
}

// 'c' re-runs from step 2, after a cut where the arena slots that steps >= 2
// read have been reused by later values: without restoring the snapshot it
// differs from the brute force.
TEST(Sweep, EveryBitOfWAndCMatchesBruteForce) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  Tensor golden = Session(import_onnx_file(kModel)).run(in)[0];
  auto seen = sweep_all(session, in, of({"w", "c"}));
  ASSERT_EQ(seen.size(), 12u * 32u);
  int nonfinite = 0;
  for (const Seen& r : seen) {
    SCOPED_TRACE(::testing::Message()
                 << r.tensor << " element " << r.effect.element << " bit " << r.effect.bit);
    Tensor want = brute_force(r.tensor, r.effect.element, r.effect.bit, in)[0];
    ASSERT_EQ(std::memcmp(want.data(), r.output.data(), want.nbytes()), 0);
    // The metrics, recomputed from the brute-force output.
    double max_abs = 0;
    bool bad = false;
    for (int64_t i = 0; i < want.numel(); ++i) {
      float y = want.ptr<float>()[i];
      bad = bad || !std::isfinite(y);
      if (std::isfinite(y))
        max_abs = std::max(max_abs, std::fabs(double(y) - golden.ptr<float>()[i]));
    }
    EXPECT_EQ(r.effect.nonfinite, bad);
    if (!bad) {
      EXPECT_DOUBLE_EQ(r.effect.max_abs, max_abs);
    }
    nonfinite += bad;
  }
  EXPECT_GT(nonfinite, 0);  // w = 1.0 with bit 30 flipped is +Inf
}

TEST(Sweep, SignBitOfNonzeroWeightChangesOutputs) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  auto seen = sweep_all(session, in, with_bits(of({"w"}), "31"));
  ASSERT_EQ(seen.size(), 6u);
  for (const Seen& r : seen) {
    EXPECT_EQ(r.effect.bit, 31);
    if (r.effect.element == 0) {
      EXPECT_EQ(r.effect.max_abs, 0.0);  // w = 0: -0 * x == 0 * x
    } else {
      EXPECT_GT(r.effect.max_abs, 0.0) << "element " << r.effect.element;
      EXPECT_GT(r.effect.max_rel, 0.0);
    }
  }
}

// A targeted flip: one tensor, one element, one bit, matching the brute force.
TEST(Sweep, TargetedElementAndBit) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  SweepOptions o = with_bits(of({"w"}), "31");
  o.elements = {4};
  auto seen = sweep_all(session, in, o);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].effect.element, 4);
  EXPECT_EQ(seen[0].effect.bit, 31);
  Tensor want = brute_force("w", 4, 31, in)[0];
  EXPECT_EQ(std::memcmp(want.data(), seen[0].output.data(), want.nbytes()), 0);
  o.elements = {6};  // w has 6 elements
  EXPECT_THROW(sweep_all(session, in, o), Error);
}

TEST(Sweep, LeavesWeightsBitIdenticalToGolden) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  Tensor before = session.run(in)[0];
  Sweep sw(session, in, everything(true));
  SweepSummary sum = sw.run();
  EXPECT_EQ(sum.bits, int64_t(12 * 32));  // w and c
  for (Plan* p : session.plans())
    for (const PlannedValue& pv : p->values())
      if (pv.storage == Storage::kConstant && pv.golden.defined()) {
        EXPECT_EQ(std::memcmp(pv.constant.data(), pv.golden.data(), pv.golden.nbytes()), 0);
      }
  Tensor after = session.run(in)[0];
  EXPECT_EQ(std::memcmp(before.data(), after.data(), before.nbytes()), 0);
}

TEST(Sweep, AllWeightsSelectsFloatWeightsAndSaysWhy) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  Sweep sw(session, in, everything(false));
  std::vector<std::string> names;
  for (const SweepTensor& t : sw.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"w", "c"}));  // in step order
  EXPECT_EQ(sw.tensors()[0].first_step, 1u);
  bool zero_skipped = false;
  for (const SkippedTensor& s : sw.skipped())
    zero_skipped =
        zero_skipped || (s.name == "zero" && s.reason.find("float32") != std::string::npos);
  EXPECT_TRUE(zero_skipped);
  EXPECT_THROW(Sweep(session, in, of({"s"})), Error);     // an activation
  EXPECT_THROW(Sweep(session, in, of({"nope"})), Error);  // unknown
}

TEST(Sweep, SampleIsDeterministicDistinctAndInsideTheSelection) {
  auto in = batch_inputs();
  Session session(import_onnx_file(kModel));
  auto keys = [&](uint64_t seed) {
    std::vector<std::pair<int64_t, int>> out;
    SweepOptions o = with_bits(of({"w"}), "23-31", 20, seed);
    for (const Seen& r : sweep_all(session, in, o))
      out.emplace_back(r.effect.element, r.effect.bit);
    return out;
  };
  auto a = keys(7), b = keys(7), c = keys(8);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set(a.begin(), a.end()).size(), a.size());
  for (auto [e, bit] : a) {
    EXPECT_TRUE(e < 6 && bit >= 23);
  }
  // A sample at least as large as the selection sweeps all of it once.
  EXPECT_EQ(sweep_all(session, in, with_bits(of({"w"}), "0-31", 1000)).size(), 6u * 32u);
}

TEST(Sweep, ParsesBitLists) {
  EXPECT_EQ(parse_bit_positions("31"), (std::vector<int>{31}));
  EXPECT_EQ(parse_bit_positions("30-31,0,30"), (std::vector<int>{0, 30, 31}));
  EXPECT_EQ(parse_bit_positions("0-31").size(), 32u);
  EXPECT_THROW(parse_bit_positions("32"), Error);
  EXPECT_THROW(parse_bit_positions("5-3"), Error);
  EXPECT_THROW(parse_bit_positions("x"), Error);
}

// y = x * Transpose(w): w reaches no kernel, only its folded transpose does.
Graph folded_weight_graph() {
  Graph g;
  g.opset = 13;
  auto add = [&](std::string name) {
    g.values.push_back({});
    g.values.back().name = std::move(name);
    return static_cast<ValueId>(g.values.size() - 1);
  };
  ValueId x = add("x"), w = add("w"), wt = add("wt"), y = add("y");
  g.values[x].is_graph_input = true;
  g.values[x].dtype = DType::kF32;
  g.values[y].is_graph_output = true;
  Tensor wv(DType::kF32, {3, 2});
  for (int64_t i = 0; i < 6; ++i) wv.ptr<float>()[i] = 1.0f + static_cast<float>(i);
  g.values[w].constant = wv;
  g.values[w].dtype = DType::kF32;
  auto node = [&](std::string name, std::string op, std::vector<ValueId> in, ValueId out) {
    Node n;
    n.name = std::move(name);
    n.op = std::move(op);
    n.inputs = std::move(in);
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
  };
  node("t", "Transpose", {w}, wt);
  node("mul", "Mul", {x, wt}, y);
  g.inputs = {x};
  g.outputs = {y};
  g.link();
  return g;
}

TEST(Sweep, WeightsReadOnlyByFoldedNodesAreReportedAndTheFoldedCopySwept) {
  Session session(folded_weight_graph());
  Tensor x(DType::kF32, {2, 3});
  for (int64_t i = 0; i < 6; ++i) x.ptr<float>()[i] = 0.5f + static_cast<float>(i);
  try {
    Sweep(session, {x}, of({"w"}));
    FAIL() << "sweeping a folded-away weight must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'wt'"), std::string::npos) << e.what();
  }
  Sweep sw(session, {x}, everything(true));
  ASSERT_EQ(sw.tensors().size(), 1u);
  EXPECT_EQ(sw.tensors()[0].name, "wt");
  EXPECT_TRUE(sw.tensors()[0].folded);
  ASSERT_EQ(sw.skipped().size(), 1u);
  EXPECT_EQ(sw.skipped()[0].name, "w");
  EXPECT_NE(sw.skipped()[0].reason.find("folded: not swept"), std::string::npos);
  SweepSummary sum = sw.run();
  EXPECT_EQ(sum.bits, 6 * 32);
  EXPECT_GT(sum.by_bit[31].top1_changed, 0);
}

}  // namespace
}  // namespace save
