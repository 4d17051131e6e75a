// RNN, GRU, LSTM (src/ops/rnn.cpp): shape rules and errors, a hand-computed
// one-step case, sequence_lens and both layouts agreeing, and the interval
// rule: random weights and inputs (also far outside [0, 1]) never leave the
// bounds; non-default activations are declined. The ONNX backend cases
// (tests/conformance) check the kernels against onnx's own reference.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {
namespace {

using test::random_f32;

constexpr int64_t kSeq = 6, kBatch = 3, kIn = 2, kHidden = 4;

int64_t gates(const std::string& op) {
  return op == "RNN" ? 1 : op == "GRU" ? 3 : 4;
}

Node make_node(const std::string& op, const std::string& direction = "forward") {
  Node n;
  n.name = "r0";
  n.op = op;
  n.attrs.set("hidden_size", kHidden);
  n.attrs.set("direction", direction);
  return n;
}

// X, W, R, B (+ empty sequence_lens, initial_h) for `dirs` directions.
std::vector<Tensor> make_inputs(const std::string& op, int64_t dirs, uint32_t seed, float xlo,
                                float xhi) {
  const int64_t g = gates(op);
  return {random_f32({kSeq, kBatch, kIn}, seed, xlo, xhi),
          random_f32({dirs, g * kHidden, kIn}, seed + 1, -2.f, 2.f),
          random_f32({dirs, g * kHidden, kHidden}, seed + 2, -2.f, 2.f),
          random_f32({dirs, 2 * g * kHidden}, seed + 3, -1.f, 1.f)};
}

size_t outputs_of(const std::string& op) {
  return op == "LSTM" ? 3 : 2;
}

TEST(Rnn, ShapeRulesAndErrors) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    auto out = infer_single_node(make_node(op, "bidirectional"), make_inputs(op, 2, 1, 0, 1), 17,
                                 true, outputs_of(op));
    EXPECT_EQ(out.at(0).shape, (Shape{kSeq, 2, kBatch, kHidden})) << op;
    EXPECT_EQ(out.at(1).shape, (Shape{2, kBatch, kHidden})) << op;
    // One direction's weights for a bidirectional node.
    EXPECT_THROW(infer_single_node(make_node(op, "bidirectional"), make_inputs(op, 1, 1, 0, 1), 17,
                                   true, outputs_of(op)),
                 Error)
        << op;
    Node bad = make_node(op, "sideways");
    EXPECT_THROW(infer_single_node(bad, make_inputs(op, 1, 1, 0, 1)), Error) << op;
    Node act = make_node(op);
    act.attrs.set("activations", std::vector<std::string>{"Mystery", "Tanh", "Tanh"});
    EXPECT_THROW(infer_single_node(act, make_inputs(op, 1, 1, 0, 1)), Error) << op;
  }
}

TEST(Rnn, OneStepByHand) {
  // RNN, hidden 1, input 1: h1 = tanh(w x + r h0 + wb + rb).
  Node n;
  n.name = "r";
  n.op = "RNN";
  n.attrs.set("hidden_size", int64_t{1});
  const auto f = [](std::vector<float> v, Shape s) { return Tensor::from<float>(s, v); };
  auto r = run_single_node(n,
                           {f({0.5f}, {1, 1, 1}), f({2.f}, {1, 1, 1}), f({3.f}, {1, 1, 1}),
                            f({0.1f, 0.2f}, {1, 2}), Tensor{}, f({-0.4f}, {1, 1, 1})},
                           KernelChoice::kReference, 17, true, 2);
  const float want = std::tanh(2.f * 0.5f + 3.f * -0.4f + 0.1f + 0.2f);
  EXPECT_NEAR(r.outputs[0].ptr<float>()[0], want, 1e-6);
  EXPECT_NEAR(r.outputs[1].ptr<float>()[0], want, 1e-6);
}

TEST(Rnn, SequenceLensStopTheStateAndZeroTheRest) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    std::vector<Tensor> in = make_inputs(op, 1, 5, -1, 1);
    in.push_back(Tensor::from<int32_t>({kBatch}, std::vector<int32_t>{kSeq, 2, 0}));
    auto r = run_single_node(make_node(op), in, KernelChoice::kReference, 17, true, outputs_of(op));
    const float* y = r.outputs[0].ptr<float>();
    const float* yh = r.outputs[1].ptr<float>();
    for (int64_t j = 0; j < kHidden; ++j) {
      // Sample 1: Y_h is Y at step 1, steps 2.. are 0; sample 2: all 0.
      EXPECT_EQ(yh[1 * kHidden + j], y[(1 * kBatch + 1) * kHidden + j]) << op;
      EXPECT_EQ(y[(2 * kBatch + 1) * kHidden + j], 0.f) << op;
      EXPECT_EQ(yh[2 * kHidden + j], 0.f) << op;
      EXPECT_NE(yh[0 * kHidden + j], 0.f) << op;
    }
  }
}

TEST(Rnn, BothLayoutsAgree) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    std::vector<Tensor> in = make_inputs(op, 1, 9, -1, 1);
    auto r0 =
        run_single_node(make_node(op), in, KernelChoice::kReference, 17, true, outputs_of(op));
    // layout 1: X [batch, seq, in].
    Tensor xt(DType::kF32, {kBatch, kSeq, kIn});
    for (int64_t t = 0; t < kSeq; ++t)
      for (int64_t b = 0; b < kBatch; ++b)
        for (int64_t k = 0; k < kIn; ++k)
          xt.ptr<float>()[(b * kSeq + t) * kIn + k] =
              in[0].ptr<float>()[(t * kBatch + b) * kIn + k];
    Node n1 = make_node(op);
    n1.attrs.set("layout", int64_t{1});
    std::vector<Tensor> in1 = in;
    in1[0] = xt;
    auto r1 = run_single_node(n1, in1, KernelChoice::kReference, 17, true, outputs_of(op));
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t j = 0; j < kHidden; ++j)
        EXPECT_EQ(r0.outputs[1].ptr<float>()[b * kHidden + j],
                  r1.outputs[1].ptr<float>()[b * kHidden + j])
            << op;
  }
}

TEST(Rnn, IntervalRuleHoldsForRandomWeightsAndInputs) {
  for (const std::string op : {"RNN", "GRU", "LSTM"}) {
    for (const std::string dir : {"forward", "reverse", "bidirectional"}) {
      const int64_t dirs = dir == "bidirectional" ? 2 : 1;
      const Node n = make_node(op, dir);
      const auto infos =
          infer_single_node(n, make_inputs(op, dirs, 1, 0, 1), 17, true, outputs_of(op));
      // Bounds of X: [-5, 5]; weights exact.
      std::vector<Tensor> base = make_inputs(op, dirs, 11, -5, 5);
      std::vector<Bounds> in;
      for (size_t i = 0; i < base.size(); ++i) {
        if (i == 0) {
          Bounds b{true, Tensor(DType::kF32, base[0].shape()),
                   Tensor(DType::kF32, base[0].shape())};
          std::fill_n(b.lo.ptr<float>(), b.lo.numel(), -5.f);
          std::fill_n(b.hi.ptr<float>(), b.hi.numel(), 5.f);
          in.push_back(b);
        } else {
          in.push_back(Bounds::point(base[i]));
        }
      }
      const auto out = eval_interval(*find_op(op), n, 17, in, infos, {});
      ASSERT_TRUE(out[0].known && out[1].known) << op << " " << dir;
      for (uint32_t trial = 0; trial < 20; ++trial) {
        std::vector<Tensor> x = base;
        x[0] = random_f32(base[0].shape(), 100 + trial, -5.f, 5.f);
        auto r = run_single_node(n, x, KernelChoice::kReference, 17, true, outputs_of(op));
        for (size_t o = 0; o < r.outputs.size(); ++o) {
          if (!out[o].known) continue;
          const float* v = r.outputs[o].ptr<float>();
          for (int64_t e = 0; e < r.outputs[o].numel(); ++e) {
            EXPECT_GE(v[e], out[o].lo.ptr<float>()[e]) << op << " " << dir << " output " << o;
            EXPECT_LE(v[e], out[o].hi.ptr<float>()[e]) << op << " " << dir << " output " << o;
          }
        }
      }
      // Y and Y_h of RNN/LSTM: tanh-bounded.
      if (op != "GRU") {
        EXPECT_LE(out[1].hi.ptr<float>()[0], 1.001f) << op;
      }
    }
  }
}

TEST(Rnn, NonDefaultActivationsAreUnbounded) {
  Node n = make_node("RNN");
  n.attrs.set("activations", std::vector<std::string>{"Relu"});
  const auto infos = infer_single_node(n, make_inputs("RNN", 1, 1, 0, 1), 17, true, 2);
  std::vector<Bounds> in;
  for (const Tensor& t : make_inputs("RNN", 1, 1, 0, 1)) in.push_back(Bounds::point(t));
  in[0] = Bounds::point(in[0].lo);
  in[0].hi = in[0].lo.clone();
  in[0].hi.ptr<float>()[0] += 1.f;  // not exact: the rule runs
  const auto out = eval_interval(*find_op("RNN"), n, 17, in, infos, {});
  EXPECT_TRUE(!out[0].known || std::isinf(out[0].hi.ptr<float>()[0]));
}

}  // namespace
}  // namespace save
