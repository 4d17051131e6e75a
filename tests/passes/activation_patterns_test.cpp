// The spelled-out activations become one op: every hard-swish and Gelu
// spelling the pass knows turns into HardSwish / Gelu and the outputs stay
// the same; a pattern whose intermediate value is read elsewhere stays.
#include "passes/activation_patterns.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

using test::GraphBuilder;

struct Spelling {
  std::string name, op;
  std::function<ValueId(GraphBuilder&, ValueId)> build;
};

ValueId relu6(GraphBuilder& gb, ValueId v) {
  return gb.node("Clip", {v, gb.scalar("zero", 0.f), gb.scalar("six", 6.f)});
}

std::vector<Spelling> spellings() {
  std::vector<Spelling> s;
  s.push_back({"(x*clip(x+3))/6", "HardSwish", [](GraphBuilder& gb, ValueId x) {
                 ValueId c = relu6(gb, gb.node("Add", {x, gb.scalar("three", 3.f)}));
                 return gb.node("Div", {gb.node("Mul", {x, c}), gb.scalar("d", 6.f)});
               }});
  s.push_back({"(clip(3+x)*x)*(1/6)", "HardSwish", [](GraphBuilder& gb, ValueId x) {
                 ValueId c = relu6(gb, gb.node("Add", {gb.scalar("three", 3.f), x}));
                 return gb.node("Mul", {gb.node("Mul", {c, x}), gb.scalar("d", 1.f / 6.f)});
               }});
  s.push_back({"x*(clip(x+3)/6)", "HardSwish", [](GraphBuilder& gb, ValueId x) {
                 ValueId c = relu6(gb, gb.node("Add", {x, gb.scalar("three", 3.f)}));
                 return gb.node("Mul", {x, gb.node("Div", {c, gb.scalar("d", 6.f)})});
               }});
  s.push_back({"HardSigmoid(x)*x", "HardSwish", [](GraphBuilder& gb, ValueId x) {
                 Attributes a;
                 a.set("alpha", 1.f / 6.f);
                 a.set("beta", 0.5f);
                 return gb.node("Mul", {gb.node("HardSigmoid", {x}, a), x});
               }});
  s.push_back({"(x*(1+erf(x/sqrt2)))*0.5", "Gelu", [](GraphBuilder& gb, ValueId x) {
                 ValueId e = gb.node("Erf", {gb.node("Div", {x, gb.scalar("r2", std::sqrt(2.f))})});
                 ValueId p = gb.node("Add", {e, gb.scalar("one", 1.f)});
                 return gb.node("Mul", {gb.node("Mul", {x, p}), gb.scalar("half", 0.5f)});
               }});
  s.push_back(
      {"(x*0.5)*(1+erf(x*(1/sqrt2)))", "Gelu", [](GraphBuilder& gb, ValueId x) {
         ValueId e = gb.node("Erf", {gb.node("Mul", {x, gb.scalar("ir2", 1.f / std::sqrt(2.f))})});
         ValueId p = gb.node("Add", {gb.scalar("one", 1.f), e});
         return gb.node("Mul", {gb.node("Mul", {x, gb.scalar("half", 0.5f)}), p});
       }});
  s.push_back({"x*((1+erf(x/sqrt2))*0.5)", "Gelu", [](GraphBuilder& gb, ValueId x) {
                 ValueId e = gb.node("Erf", {gb.node("Div", {x, gb.scalar("r2", std::sqrt(2.f))})});
                 ValueId p = gb.node("Add", {e, gb.scalar("one", 1.f)});
                 return gb.node("Mul", {x, gb.node("Mul", {p, gb.scalar("half", 0.5f)})});
               }});
  s.push_back(
      {"tanh form, Pow", "Gelu", [](GraphBuilder& gb, ValueId x) {
         ValueId c = gb.node("Pow", {x, gb.scalar("three", 3.f)});
         ValueId k = gb.node("Mul", {gb.scalar("a", 0.044715f), c});
         ValueId in = gb.node("Add", {x, k});
         ValueId t = gb.node("Tanh", {gb.node("Mul", {in, gb.scalar("s", std::sqrt(2.f / M_PI))})});
         ValueId p = gb.node("Add", {t, gb.scalar("one", 1.f)});
         return gb.node("Mul", {gb.node("Mul", {x, p}), gb.scalar("half", 0.5f)});
       }});
  s.push_back(
      {"tanh form, x*x*x", "Gelu", [](GraphBuilder& gb, ValueId x) {
         ValueId c = gb.node("Mul", {gb.node("Mul", {x, x}), x});
         ValueId k = gb.node("Mul", {c, gb.scalar("a", 0.044715f)});
         ValueId in = gb.node("Add", {k, x});
         ValueId t = gb.node("Tanh", {gb.node("Mul", {gb.scalar("s", std::sqrt(2.f / M_PI)), in})});
         ValueId p = gb.node("Add", {t, gb.scalar("one", 1.f)});
         return gb.node("Mul", {gb.node("Mul", {x, gb.scalar("half", 0.5f)}), p});
       }});
  return s;
}

TEST(ActivationPatterns, EverySpellingBecomesOneOpWithTheSameOutputs) {
  for (const Spelling& sp : spellings()) {
    SCOPED_TRACE(sp.name);
    GraphBuilder gb;
    ValueId x = gb.input("x", {2, 3, 5, 7});
    // x also feeds a second output: the pattern's input may be read elsewhere.
    ValueId out = sp.build(gb, x);
    ValueId other = gb.node("Relu", {x});
    Graph g = gb.done({out, other});
    Graph f = g;
    EXPECT_EQ(rewrite_activation_patterns(f), 1u);
    ASSERT_EQ(f.nodes.size(), 2u);
    EXPECT_EQ(test::count_op(f, sp.op), 1u);
    if (sp.name.rfind("tanh", 0) == 0) {
      EXPECT_EQ(f.nodes[0].attrs.get_string("approximate", ""), "tanh");
    }
    std::vector<Tensor> in{test::random_f32({2, 3, 5, 7}, 4, -6.f, 6.f)};
    test::expect_near_all(test::run_as_written(f, in, false)[0],
                          test::run_as_written(g, in, false)[0], 1e-5, 1e-6, "reference");
    test::expect_near_all(test::run_as_written(f, in, true)[0],
                          test::run_as_written(g, in, true)[0], 1e-5, 1e-5, "fast");
  }
}

TEST(ActivationPatterns, KeepsAPatternWhoseInnerValueIsReadElsewhere) {
  GraphBuilder gb;
  ValueId x = gb.input("x", {4, 4});
  ValueId c = relu6(gb, gb.node("Add", {x, gb.scalar("three", 3.f)}));
  ValueId out = gb.node("Div", {gb.node("Mul", {x, c}), gb.scalar("d", 6.f)});
  Graph g = gb.done({out, c});  // the clip is also an output
  EXPECT_EQ(rewrite_activation_patterns(g), 0u);
  EXPECT_EQ(g.nodes.size(), 4u);
}

TEST(ActivationPatterns, KeepsOtherConstants) {
  GraphBuilder gb;
  ValueId x = gb.input("x", {4, 4});
  ValueId c = relu6(gb, gb.node("Add", {x, gb.scalar("three", 2.f)}));  // x + 2: not hard-swish
  ValueId out = gb.node("Div", {gb.node("Mul", {x, c}), gb.scalar("d", 6.f)});
  Graph g = gb.done({out});
  EXPECT_EQ(rewrite_activation_patterns(g), 0u);
}

}  // namespace
}  // namespace save
