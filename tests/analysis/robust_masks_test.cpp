// Robust-bit masks (analysis/robust_masks.hpp): soundness by flipping. A bit
// called robust is flipped in a real run, right after the step that writes
// the value, and the readers' outputs must stay within the tolerance of the
// fault-free run (robust by operator: identical).
#include "analysis/robust_masks.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "analysis/bit_classes.hpp"
#include "data/dataset.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"

namespace save {
namespace {

constexpr double kTol = 1e-5;

// x [1, 2, 4, 4] in [0, 1] -> Conv 1x1 (2 -> 3 channels) -> `act` -> y.
// Channel 0 is always negative (bias -5, small weights), channel 1 always
// positive, channel 2 straddles 0. `extra_reader` also feeds the conv output
// to an Identity (then no bit is robust by operator).
Graph conv_act_graph(const std::string& act, bool extra_reader = false) {
  Graph g;
  g.opset = 17;
  auto value = [&](const std::string& name) {
    Value v;
    v.name = name;
    v.dtype = DType::kF32;
    g.values.push_back(v);
    return static_cast<ValueId>(g.values.size() - 1);
  };
  const ValueId x = value("x"), w = value("w"), b = value("b"), c = value("c"), y = value("y");
  g.values[x].is_graph_input = true;
  g.values[x].has_shape = true;
  g.values[x].shape = {{1, ""}, {2, ""}, {4, ""}, {4, ""}};
  g.values[w].constant =
      Tensor::from<float>({3, 2, 1, 1}, std::vector<float>{0.3f, -0.2f, 0.5f, 0.25f, 1.f, -1.f});
  g.values[b].constant = Tensor::from<float>({3}, std::vector<float>{-5.f, 2.f, 0.1f});
  g.inputs = {x};
  Node conv = test::make_node("Conv");
  conv.name = "conv";
  conv.inputs = {x, w, b};
  conv.outputs = {c};
  g.nodes.push_back(conv);
  Node a = test::make_node(act);
  a.name = "act";
  a.inputs = {c};
  if (act == "Clip") {
    const ValueId lo = value("lo");
    g.values[lo].constant = Tensor::scalar<float>(0.f);
    a.inputs.push_back(lo);
  }
  a.outputs = {y};
  g.nodes.push_back(a);
  g.outputs = {y};
  g.values[y].is_graph_output = true;
  if (extra_reader) {
    const ValueId z = value("z");
    Node id = test::make_node("Identity");
    id.name = "id";
    id.inputs = {c};
    id.outputs = {z};
    g.nodes.push_back(id);
    g.outputs.push_back(z);
    g.values[z].is_graph_output = true;
  }
  g.link();
  return g;
}

// Flips bit `bit` of element `element` of `value` right after the step that
// writes it, and copies the outputs of `watch` steps as they are written.
class FlipAfter : public ExecHooks {
 public:
  ValueId value = kNoId;
  int64_t element = -1;
  int bit = 0;
  std::vector<std::vector<float>> seen;  // per run, concatenated watched outputs
  std::vector<size_t> watch;

  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    for (ValueId o : st.outputs)
      if (o == value && element >= 0) {
        auto* p = static_cast<uint32_t*>(ex.value(o).data);
        p[element] ^= 1u << bit;
      }
    if (std::find(watch.begin(), watch.end(), step) != watch.end())
      for (ValueId o : st.outputs) {
        const TensorView t = ex.value(o);
        seen.back().insert(seen.back().end(), t.ptr<float>(), t.ptr<float>() + t.numel());
      }
    return step + 1;
  }
};

// Runs `inputs` once fault-free and once per (element, bit) in `flips`;
// returns the largest change of the readers' outputs over all flips.
double worst_reader_change(Session& session, const RangeAnalysis& ra, ValueId v,
                           const std::vector<Tensor>& inputs,
                           const std::vector<std::pair<int64_t, int>>& flips) {
  FlipAfter hook;
  hook.watch = ra.plan->readers(v);
  session.set_hooks(&hook);
  hook.seen.emplace_back();
  session.run(inputs);
  const std::vector<float> golden = hook.seen.back();
  double worst = 0;
  hook.value = v;
  for (auto [e, b] : flips) {
    hook.element = e;
    hook.bit = b;
    hook.seen.emplace_back();
    session.run(inputs);
    const std::vector<float>& now = hook.seen.back();
    for (size_t i = 0; i < golden.size(); ++i) {
      const double d = std::fabs(static_cast<double>(now[i]) - golden[i]);
      worst = std::max(worst, std::isnan(d) ? INFINITY : d);
    }
    hook.seen.pop_back();
  }
  session.set_hooks(nullptr);
  return worst;
}

TEST(RobustMasks, NegativeToReluMaskKeepsSignAndNaNRiskyExponentBits) {
  // [-0.5, -0.25]: exponent fields 125..126; no flip reaches 255.
  EXPECT_EQ(negative_to_relu_mask(-0.5f, -0.25f), 0x7fffffffu);
  // [-1.5, -0.5]: field 127 with bit 30 flipped is 255 (NaN for -1.5).
  EXPECT_EQ(negative_to_relu_mask(-1.5f, -0.5f), 0x7fffffffu & ~(1u << 30));
  // Not known negative: nothing by operator (+0 flipped is positive).
  EXPECT_EQ(negative_to_relu_mask(-1.f, 0.f), 0u);
  EXPECT_EQ(negative_to_relu_mask(0.5f, 1.f), 0u);
}

TEST(RobustMasks, PointMaskEqualsClassifyBitsOnAPointInterval) {
  // Random bit patterns cover every exponent (zeros, subnormals, huge
  // values) and both signs; tolerances from tiny to large.
  std::mt19937 rng(17);
  int64_t compared = 0;
  for (double tol : {1e-30, 1e-9, 1e-5, 1e-2, 10.0, 1e30}) {
    for (int i = 0; i < 20000; ++i) {
      const float w = std::bit_cast<float>(static_cast<uint32_t>(rng()));
      if (!std::isfinite(w)) continue;
      const BitClasses c = classify_bits(w, w, tol);
      uint32_t want = 0;
      for (int b = 0; b < 32; ++b)
        if (c.bit[static_cast<size_t>(b)] == BitClass::kRobust) want |= 1u << b;
      ASSERT_EQ(point_robust_mask(w, tol), want) << "w = " << w << ", tol = " << tol;
      ++compared;
    }
  }
  EXPECT_EQ(point_robust_mask(0.f, 1e-5) >> 31, 1u);  // -0 == 0
  EXPECT_GT(compared, 100000);
}

// The graph as written: fusion (passes/fuse_post_ops.hpp) would merge the
// conv into its reader, and the value `c` these tests look at would not exist.
SessionOptions as_written() {
  SessionOptions so;
  so.passes.enabled = false;
  return so;
}

class RobustByOperator : public ::testing::TestWithParam<std::string> {};

TEST_P(RobustByOperator, NegativeChannelIntoReluHasAllNonSignBitsAndFlipsChangeNothing) {
  Session session(conv_act_graph(GetParam()), as_written());
  const RangeAnalysis ra = analyze_ranges(session);
  const ValueId c = session.graph().find_value("c");
  const RobustMasks m = robust_mask_detail(ra, c, kTol);
  ASSERT_EQ(m.numeric.size(), 3u);
  ASSERT_EQ(m.elements_per_mask, 16);
  // Channel 0 in about [-5.2, -4.7] (exponent field 129; a flip reaches
  // NaN's field 255 only from 255 ^ (1 << k)): all 31 non-sign bits.
  EXPECT_EQ(robust_masks(ra, c, kTol)[0], 0x7fffffffu);
  EXPECT_NE(m.by_operator[0], 0u);
  // Channels 1 and 2 can be positive: numerics only.
  EXPECT_EQ(m.by_operator[1], 0u);
  EXPECT_EQ(m.by_operator[2], 0u);

  // Every robust bit of 8 random elements, on 4 random inputs in the box.
  std::mt19937 rng(11);
  const std::vector<uint32_t> masks = robust_masks(ra, c, kTol);
  for (int trial = 0; trial < 4; ++trial) {
    const Tensor x = test::random_f32({1, 2, 4, 4}, 100 + trial, 0.f, 1.f);
    std::vector<std::pair<int64_t, int>> flips;
    for (int k = 0; k < 8; ++k) {
      const auto e = static_cast<int64_t>(rng() % 48);
      const uint32_t mask = masks[static_cast<size_t>(e / 16)];
      for (int b = 0; b < 32; ++b)
        if (mask >> b & 1u) flips.emplace_back(e, b);
    }
    ASSERT_GT(flips.size(), 31u);
    EXPECT_LT(worst_reader_change(session, ra, c, {x}, flips), kTol);
  }
  // The check can fail: the sign bit of channel 0 is not robust and does
  // change the output.
  const Tensor x = test::random_f32({1, 2, 4, 4}, 5, 0.f, 1.f);
  EXPECT_GT(worst_reader_change(session, ra, c, {x}, {{0, 31}}), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Readers, RobustByOperator, ::testing::Values("Relu", "Clip"));

TEST(RobustMasks, AnotherReaderRemovesOperatorRobustness) {
  Session session(conv_act_graph("Relu", true), as_written());
  const RangeAnalysis ra = analyze_ranges(session);
  const RobustMasks m = robust_mask_detail(ra, session.graph().find_value("c"), kTol);
  ASSERT_EQ(m.by_operator.size(), 3u);
  for (uint32_t b : m.by_operator) EXPECT_EQ(b, 0u);
  EXPECT_EQ(m.numeric[0] & (1u << 30), 0u);  // exponent flips are not numerically robust
}

TEST(RobustMasks, WeightMasksArePerElementAndScaledToTheReader) {
  Session session(conv_act_graph("Relu"));
  const RangeAnalysis ra = analyze_ranges(session);
  const ValueId w = session.graph().find_value("w");
  const std::vector<uint32_t> m = robust_masks(ra, w, kTol);
  ASSERT_EQ(m.size(), 6u);
  // x in [0, 1]: |dw| * 1 < the local budget 1e-6; weight 1.0 has ulp
  // 2^-23, so bits 0..3 (2^-20 = 9.5e-7) are robust and bit 4 (1.9e-6) is
  // not.
  EXPECT_DOUBLE_EQ(local_tolerance(kTol), 1e-6);
  EXPECT_EQ(m[4], 0xfu);
}

// On a bundled model with a real image: in every activation, flipping a bit
// its mask calls robust moves the actual value by less than the tolerance
// (the bundled models have no channel known negative before a Relu, so all
// their robust activation bits are robust by numerics).
TEST(RobustMasks, BundledCnnRobustFlipsMoveValuesLessThanTolerance) {
  Session session(import_onnx_file(std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx"));
  const RangeAnalysis ra = analyze_ranges(session);
  const Dataset ds = load_dataset("fashion-mnist");
  const Tensor x = slice_rows(ds.images, 0, 1);
  std::mt19937 rng(3);
  int64_t flips = 0;
  for (const PlannedStep& st : ra.plan->steps()) {
    for (ValueId v : st.outputs) {
      const std::vector<uint32_t> masks = robust_masks(ra, v, kTol);
      if (masks.empty()) continue;
      const int64_t n = shape_numel(ra.plan->values()[v].info.shape);
      const int64_t per = n / static_cast<int64_t>(masks.size());
      // Capture the value on this image, then flip each robust bit of 64
      // random elements in a copy.
      FlipAfter hook;
      hook.watch = {static_cast<size_t>(&st - ra.plan->steps().data())};
      hook.seen.emplace_back();
      session.set_hooks(&hook);
      session.run({x});
      session.set_hooks(nullptr);
      const std::vector<float>& val = hook.seen.back();
      for (int k = 0; k < 64; ++k) {
        const auto e = static_cast<int64_t>(rng() % static_cast<uint32_t>(n));
        const uint32_t mask = masks[static_cast<size_t>(e / per)];
        for (int b = 0; b < 32; ++b) {
          if (!(mask >> b & 1u)) continue;
          const float before = val[static_cast<size_t>(e)];
          const float after = std::bit_cast<float>(std::bit_cast<uint32_t>(before) ^ (1u << b));
          EXPECT_LT(std::fabs(static_cast<double>(after) - before), kTol)
              << session.graph().values[v].name << " element " << e << " bit " << b;
          ++flips;
        }
      }
    }
  }
  EXPECT_GT(flips, 1000);
}

}  // namespace
}  // namespace save
