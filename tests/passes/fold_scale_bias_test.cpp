// Constant scale/bias after a Conv or Gemm folds into its weights and bias:
// the nodes disappear and the outputs stay the same within float rounding;
// a non-constant or a not-per-channel operand is left alone.
#include "passes/fold_scale_bias.hpp"

#include <gtest/gtest.h>

#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

using test::GraphBuilder;
using test::random_f32;

TEST(FoldScaleBias, ConvMulAddFoldIntoWeightsAndBias) {
  for (bool with_bias : {false, true}) {
    GraphBuilder gb;
    ValueId x = gb.input("x", {2, 3, 6, 6});
    ValueId c = gb.node("Conv", {x, gb.constant("w", random_f32({5, 3, 3, 3}, 1)),
                                 with_bias ? gb.constant("b", random_f32({5}, 2)) : kNoId});
    ValueId m = gb.node("Mul", {gb.constant("s", random_f32({1, 5, 1, 1}, 3)), c});
    ValueId a = gb.node("Add", {m, gb.constant("t", random_f32({5, 1, 1}, 4))});
    ValueId out = gb.node("Add", {a, gb.scalar("k", 0.25f)});
    Graph g = gb.done({out});
    Graph f = g;
    EXPECT_EQ(fold_scale_bias(f), 3u);
    ASSERT_EQ(f.nodes.size(), 1u);
    EXPECT_EQ(f.nodes[0].op, "Conv");
    std::vector<Tensor> in{random_f32({2, 3, 6, 6}, 5)};
    test::expect_near_all(test::run_as_written(f, in)[0], test::run_as_written(g, in, false)[0],
                          1e-5, 1e-5, "folded");
  }
}

TEST(FoldScaleBias, GemmScaleAndBias) {
  for (int64_t trans_b : {0, 1}) {
    for (bool with_c : {false, true}) {
      GraphBuilder gb;
      ValueId x = gb.input("x", {4, 6});
      Attributes a;
      a.set("transB", trans_b);
      a.set("alpha", 0.5f);
      if (with_c) a.set("beta", 2.f);
      ValueId y = gb.node("Gemm",
                          {x, gb.constant("w", random_f32(trans_b ? Shape{3, 6} : Shape{6, 3}, 1)),
                           with_c ? gb.constant("c", random_f32({3}, 2)) : kNoId},
                          a);
      ValueId m = gb.node("Mul", {y, gb.constant("s", random_f32({3}, 3))});
      // Gemm's beta != 1 with a C: an Add cannot fold into C; without C it can.
      ValueId out = gb.node("Add", {m, gb.constant("t", random_f32({1, 3}, 4))});
      Graph g = gb.done({out});
      Graph f = g;
      EXPECT_EQ(fold_scale_bias(f), with_c ? 1u : 2u);
      std::vector<Tensor> in{random_f32({4, 6}, 5)};
      test::expect_near_all(test::run_as_written(f, in)[0], test::run_as_written(g, in, false)[0],
                            1e-5, 1e-5, "folded");
    }
  }
}

TEST(FoldScaleBias, LeavesNonChannelOperandsAndSharedOutputs) {
  GraphBuilder gb;
  ValueId x = gb.input("x", {1, 3, 6, 6});
  ValueId c = gb.node("Conv", {x, gb.constant("w", random_f32({5, 3, 1, 1}, 1))});
  ValueId m = gb.node("Mul", {c, gb.constant("s", random_f32({6}, 2))});  // along W
  ValueId c2 = gb.node("Conv", {x, gb.constant("w2", random_f32({5, 3, 1, 1}, 3))});
  ValueId a = gb.node("Add", {c2, x});  // not a constant (and broadcasts)
  ValueId c3 = gb.node("Conv", {x, gb.constant("w3", random_f32({5, 3, 1, 1}, 4))});
  ValueId m3 = gb.node("Mul", {c3, gb.scalar("k", 2.f)});
  Graph g = gb.done({m, a, m3, c3});  // c3 is also an output
  EXPECT_EQ(fold_scale_bias(g), 0u);
  EXPECT_EQ(g.nodes.size(), 6u);
}

}  // namespace
}  // namespace save
