// Fusion of Conv / ConvTranspose / MatMul / Gemm with the post-op chains:
// for every pattern the pass makes one fused node, and the fused graph gives
// the outputs of the graph as written (fast kernels and the composed
// reference kernel alike); the fused op's interval rule holds every output
// the fused op computes for inputs inside the bounds.
#include "passes/fuse_post_ops.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "ops/fused.hpp"
#include "ops/interval.hpp"
#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

using test::GraphBuilder;
using test::random_f32;

// A base op on input "x" (the model input) with constant weights; returns
// its output. Also the input shape it wants.
struct Base {
  std::string name;
  Shape x_shape;
  std::function<ValueId(GraphBuilder&, ValueId)> build;
};

std::vector<Base> bases() {
  std::vector<Base> b;
  b.push_back({"Conv", {2, 3, 8, 8}, [](GraphBuilder& gb, ValueId x) {
                 Attributes a;
                 a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
                 return gb.node("Conv",
                                {x, gb.constant("w", random_f32({4, 3, 3, 3}, 1)),
                                 gb.constant("b", random_f32({4}, 2))},
                                a);
               }});
  b.push_back({"ConvTranspose", {2, 3, 5, 5}, [](GraphBuilder& gb, ValueId x) {
                 Attributes a;
                 a.set("strides", std::vector<int64_t>{2, 2});
                 return gb.node("ConvTranspose",
                                {x, gb.constant("w", random_f32({3, 4, 3, 3}, 3)),
                                 gb.constant("b", random_f32({4}, 4))},
                                a);
               }});
  b.push_back({"MatMul", {2, 5, 4}, [](GraphBuilder& gb, ValueId x) {
                 return gb.node("MatMul", {x, gb.constant("w", random_f32({4, 4}, 5))});
               }});
  b.push_back({"Gemm", {5, 4}, [](GraphBuilder& gb, ValueId x) {
                 Attributes a;
                 a.set("transB", int64_t{1});
                 return gb.node("Gemm",
                                {x, gb.constant("w", random_f32({4, 4}, 6)),
                                 gb.constant("c", random_f32({4}, 7))},
                                a);
               }});
  return b;
}

// A post-op chain, written as separate ONNX nodes on `y` (the base output;
// `x` is the graph input, same shape as y for every base above: 4 channels
// or columns). Returns the chain's output and how many nodes it wrote.
struct Chain {
  std::string name;
  std::function<ValueId(GraphBuilder&, ValueId y, ValueId residual, size_t& nodes)> build;
  bool residual = false;  // reads a second graph input shaped like the output
};

Attributes attr_f(const char* k, float v) {
  Attributes a;
  a.set(k, v);
  return a;
}

std::vector<Chain> chains() {
  auto unary = [](const char* op, Attributes a = {}) {
    return [op, a](GraphBuilder& gb, ValueId y, ValueId, size_t& n) {
      n = 1;
      return gb.node(op, {y}, a);
    };
  };
  std::vector<Chain> c;
  c.push_back({"Relu", unary("Relu")});
  c.push_back({"LeakyRelu", unary("LeakyRelu", attr_f("alpha", 0.1f))});
  c.push_back({"Sigmoid", unary("Sigmoid")});
  Attributes hs;
  hs.set("alpha", 0.3f);
  hs.set("beta", 0.4f);
  c.push_back({"HardSigmoid", unary("HardSigmoid", hs)});
  c.push_back({"HardSwish", unary("HardSwish")});
  c.push_back({"Tanh", unary("Tanh")});
  c.push_back({"Gelu", unary("Gelu")});
  Attributes gt;
  gt.set("approximate", std::string("tanh"));
  c.push_back({"GeluTanh", unary("Gelu", gt)});
  c.push_back({"Clip", [](GraphBuilder& gb, ValueId y, ValueId, size_t& n) {
                 n = 1;
                 return gb.node("Clip", {y, gb.scalar("lo", -0.5f), gb.scalar("hi", 0.5f)});
               }});
  c.push_back({"Swish", [](GraphBuilder& gb, ValueId y, ValueId, size_t& n) {
                 n = 2;
                 return gb.node("Mul", {y, gb.node("Sigmoid", {y})});
               }});
  c.push_back({"ResidualAddRelu",
               [](GraphBuilder& gb, ValueId y, ValueId r, size_t& n) {
                 n = 2;
                 return gb.node("Relu", {gb.node("Add", {r, y})});
               },
               true});
  c.push_back({"ScaleBiasHardSwishScale", [](GraphBuilder& gb, ValueId y, ValueId, size_t& n) {
                 n = 4;
                 ValueId s = gb.node("Mul", {y, gb.constant("s", random_f32({4}, 8, 0.5f, 2.f))});
                 ValueId t = gb.node("Add", {gb.constant("t", random_f32({4}, 9)), s});
                 ValueId h = gb.node("HardSwish", {t});
                 return gb.node("Mul", {h, gb.scalar("k", 0.75f)});
               }});
  return c;
}

// Channel-last bases (MatMul, Gemm) scale along the last axis, convs along
// axis 1: give the per-channel constants the right shape.
void fix_channel_axis(Graph& g, const std::string& base) {
  if (base != "Conv" && base != "ConvTranspose") return;
  for (Value& v : g.values)
    if (v.constant && (v.name == "s" || v.name == "t"))
      *v.constant = v.constant->reshaped({4, 1, 1});
}

Shape out_shape(const std::string& base, const Shape& x) {
  if (base == "Conv") return x.size() == 4 ? Shape{x[0], 4, x[2], x[3]} : x;
  if (base == "ConvTranspose") return {x[0], 4, 2 * x[2] + 1, 2 * x[3] + 1};
  return x;
}

TEST(FusePostOps, EveryPatternOnEveryBaseKeepsOutputs) {
  for (const Base& base : bases()) {
    for (const Chain& chain : chains()) {
      SCOPED_TRACE(base.name + " + " + chain.name);
      GraphBuilder gb;
      ValueId x = gb.input("x", base.x_shape);
      Shape ys = out_shape(base.name, base.x_shape);
      ValueId r = chain.residual ? gb.input("r", ys) : kNoId;
      ValueId y = base.build(gb, x);
      size_t nodes = 0;
      ValueId out = chain.build(gb, y, r, nodes);
      Graph g = gb.done({out});
      fix_channel_axis(g, base.name);
      Graph f = g;
      EXPECT_EQ(fuse_post_ops(f), nodes);
      ASSERT_EQ(f.nodes.size(), 1u);
      EXPECT_EQ(f.nodes[0].op, "Fused" + base.name);
      EXPECT_EQ(f.nodes[0].domain, kSaveDomain);
      std::vector<Tensor> in{random_f32(base.x_shape, 11, -2.f, 2.f)};
      if (chain.residual) in.push_back(random_f32(ys, 12));
      Tensor want = test::run_as_written(g, in, false)[0];
      Tensor fast = test::run_as_written(f, in, true)[0];
      Tensor ref = test::run_as_written(f, in, false)[0];
      test::expect_near_all(ref, want, 1e-6, 1e-6, "fused reference vs parts");
      test::expect_near_all(fast, want, 1e-4, 1e-5, "fused fast vs parts");
      test::expect_near_all(test::run_as_written(g, in, true)[0], fast, 1e-4, 1e-5,
                            "unfused fast vs fused fast");
    }
  }
}

TEST(FusePostOps, MatMulAddBiasAndGelu) {
  // The transformer MLP: MatMul + Add(bias) + Gelu, one node.
  GraphBuilder gb;
  ValueId x = gb.input("x", {3, 7, 8});
  ValueId m = gb.node("MatMul", {x, gb.constant("w", random_f32({8, 16}, 1))});
  ValueId a = gb.node("Add", {m, gb.constant("b", random_f32({16}, 2))});
  ValueId out = gb.node("Gelu", {a});
  Graph g = gb.done({out});
  Graph f = g;
  EXPECT_EQ(fuse_post_ops(f), 2u);
  ASSERT_EQ(f.nodes.size(), 1u);
  std::vector<PostOp> ops = get_post_ops(f.nodes[0]);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].op, "Add");
  EXPECT_EQ(ops[1].op, "Gelu");
  std::vector<Tensor> in{random_f32({3, 7, 8}, 3)};
  test::expect_near_all(test::run_as_written(f, in)[0], test::run_as_written(g, in, false)[0], 1e-4,
                        1e-5, "fused");
}

TEST(FusePostOps, LeavesValuesReadElsewhereOrOutputs) {
  // The conv output is read twice: no fusion. The Relu output is a graph
  // output as well as read by Sigmoid: the chain stops after Relu.
  GraphBuilder gb;
  ValueId x = gb.input("x", {1, 3, 6, 6});
  ValueId c = gb.node("Conv", {x, gb.constant("w", random_f32({4, 3, 1, 1}, 1))});
  ValueId r = gb.node("Relu", {c});
  ValueId t = gb.node("Tanh", {c});
  Graph g = gb.done({r, t});
  Graph f = g;
  EXPECT_EQ(fuse_post_ops(f), 0u);
  EXPECT_EQ(f.nodes.size(), 3u);

  GraphBuilder gb2;
  x = gb2.input("x", {1, 3, 6, 6});
  c = gb2.node("Conv", {x, gb2.constant("w", random_f32({4, 3, 1, 1}, 1))});
  r = gb2.node("Relu", {c});
  ValueId s = gb2.node("Sigmoid", {r});
  Graph g2 = gb2.done({r, s});
  EXPECT_EQ(fuse_post_ops(g2), 1u);
  ASSERT_EQ(g2.nodes.size(), 2u);
  EXPECT_EQ(g2.nodes[0].op, "FusedConv");
  EXPECT_EQ(g2.nodes[0].outputs[0], r);  // the graph output survives
}

TEST(FusePostOps, FusedIntervalRuleIsSound) {
  std::mt19937 gen(5);
  for (const Base& base : bases()) {
    for (const Chain& chain : chains()) {
      SCOPED_TRACE(base.name + " + " + chain.name);
      GraphBuilder gb;
      ValueId x = gb.input("x", base.x_shape);
      Shape ys = out_shape(base.name, base.x_shape);
      ValueId r = chain.residual ? gb.input("r", ys) : kNoId;
      size_t nodes = 0;
      ValueId out = chain.build(gb, base.build(gb, x), r, nodes);
      Graph f = gb.done({out});
      fix_channel_axis(f, base.name);
      ASSERT_EQ(fuse_post_ops(f), nodes);
      const Node& node = f.nodes[0];
      const OpDef* def = find_op(node.op, node.domain);
      ASSERT_NE(def, nullptr);
      // Box inputs: center c, radius 0.3; constants exact.
      Tensor xc = random_f32(base.x_shape, 21, -2.f, 2.f);
      Tensor rc = random_f32(ys, 22);
      auto box = [](const Tensor& c, float rad) {
        Bounds b;
        b.known = true;
        b.lo = c.clone();
        b.hi = c.clone();
        for (int64_t i = 0; i < c.numel(); ++i) {
          b.lo.ptr<float>()[i] -= rad;
          b.hi.ptr<float>()[i] += rad;
        }
        return b;
      };
      std::vector<Bounds> in;
      for (ValueId v : node.inputs) {
        if (v == kNoId)
          in.emplace_back();
        else if (f.values[v].constant)
          in.push_back(Bounds::point(*f.values[v].constant));
        else
          in.push_back(box(v == x ? xc : rc, 0.3f));
      }
      std::vector<Bounds> ob = eval_interval(*def, node, 17, in, {{DType::kF32, ys}}, {});
      ASSERT_TRUE(ob[0].known);
      std::uniform_real_distribution<float> u(-0.3f, 0.3f);
      for (int trial = 0; trial < 8; ++trial) {
        Tensor xs = xc.clone(), rs = rc.clone();
        for (int64_t i = 0; i < xs.numel(); ++i) xs.ptr<float>()[i] += u(gen);
        for (int64_t i = 0; i < rs.numel(); ++i) rs.ptr<float>()[i] += u(gen);
        std::vector<Tensor> inputs{xs};
        if (chain.residual) inputs.push_back(rs);
        for (bool fast : {false, true}) {
          Tensor y = test::run_as_written(f, inputs, fast)[0];
          for (int64_t i = 0; i < y.numel(); ++i) {
            float v = y.ptr<float>()[i];
            ASSERT_GE(v, ob[0].lo.ptr<float>()[i]) << "element " << i << " fast " << fast;
            ASSERT_LE(v, ob[0].hi.ptr<float>()[i]) << "element " << i << " fast " << fast;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace save
