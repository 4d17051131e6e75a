// LayerNormalization spelled out in primitive ops becomes one
// LayerNormalization node with the same outputs; a pattern over another
// axis or with an inner value read elsewhere stays as written.
#include "passes/layernorm_pattern.hpp"

#include <gtest/gtest.h>

#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

using test::GraphBuilder;
using test::random_f32;

struct Built {
  Graph g;
  ValueId d;  // x - mean
};

Built spelled(bool pow, bool beta, int64_t axis = -1, bool d_is_output = false) {
  GraphBuilder gb;
  ValueId x = gb.input("x", {2, 5, 8});
  Attributes ax;
  ax.set("axes", std::vector<int64_t>{axis});
  ValueId m = gb.node("ReduceMean", {x}, ax);
  ValueId d = gb.node("Sub", {x, m});
  ValueId sq = pow ? gb.node("Pow", {d, gb.scalar("two", 2.f)}) : gb.node("Mul", {d, d});
  ValueId v = gb.node("ReduceMean", {sq}, ax);
  ValueId s = gb.node("Sqrt", {gb.node("Add", {v, gb.scalar("eps", 1e-5f)})});
  ValueId n = gb.node("Div", {d, s});
  ValueId y = gb.node("Mul", {n, gb.constant("gamma", random_f32({8}, 1, 0.5f, 1.5f))});
  if (beta) y = gb.node("Add", {gb.constant("beta", random_f32({8}, 2)), y});
  std::vector<ValueId> outs{y};
  if (d_is_output) outs.push_back(d);
  return {gb.done(outs), d};
}

TEST(LayerNormPattern, BecomesOneLayerNormalizationWithTheSameOutputs) {
  for (bool pow : {true, false}) {
    for (bool beta : {true, false}) {
      SCOPED_TRACE(std::string(pow ? "Pow" : "Mul") + (beta ? " + beta" : ""));
      Graph g = spelled(pow, beta).g;
      Graph f = g;
      EXPECT_EQ(rewrite_layernorm_pattern(f), 1u);
      ASSERT_EQ(f.nodes.size(), 1u);
      EXPECT_EQ(f.nodes[0].op, "LayerNormalization");
      EXPECT_EQ(f.nodes[0].inputs.size(), beta ? 3u : 2u);
      std::vector<Tensor> in{random_f32({2, 5, 8}, 3, -3.f, 3.f)};
      test::expect_near_all(test::run_as_written(f, in, false)[0],
                            test::run_as_written(g, in, false)[0], 1e-5, 1e-5, "reference");
      test::expect_near_all(test::run_as_written(f, in, true)[0],
                            test::run_as_written(g, in, true)[0], 1e-4, 1e-5, "fast");
    }
  }
}

TEST(LayerNormPattern, LeavesOtherAxesAndSharedValues) {
  Graph other_axis = spelled(true, true, 1).g;
  EXPECT_EQ(rewrite_layernorm_pattern(other_axis), 0u);
  Graph shared = spelled(true, true, -1, true).g;  // x - mean is also an output
  EXPECT_EQ(rewrite_layernorm_pattern(shared), 0u);
  EXPECT_EQ(shared.nodes.size(), 9u);
}

}  // namespace
}  // namespace save
