// Whole-graph behaviour of import + plan + executor on a small fixture
// model (tests/data/two_inputs.onnx, written by tools/make_test_models.py).
#include "exec/session.hpp"

#include <gtest/gtest.h>

#include "import/onnx_import.hpp"

namespace save {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/tests/data/two_inputs.onnx";

Tensor filled(Shape s, float start) {
  Tensor t(DType::kF32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = start + static_cast<float>(i);
  return t;
}

// out[n, k] = (a + b) * w + 0.5 with w = 0..5 over the trailing 2x3.
void expect_model_output(const Tensor& a, const Tensor& b, const Tensor& out) {
  int64_t n = a.shape()[0];
  ASSERT_EQ(out.shape(), (Shape{n, 6}));
  for (int64_t i = 0; i < n * 6; ++i) {
    float want = (a.ptr<float>()[i] + b.ptr<float>()[i]) * static_cast<float>(i % 6) + 0.5f;
    EXPECT_FLOAT_EQ(out.ptr<float>()[i], want) << "element " << i;
  }
}

TEST(Import, ReadsValuesNodesAndConstants) {
  Graph g = import_onnx_file(kModel);
  ASSERT_EQ(g.inputs.size(), 2u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "a");
  EXPECT_EQ(g.values[g.inputs[0]].shape[0].symbol, "batch");
  EXPECT_FALSE(g.values[g.inputs[0]].shape[0].known());
  // Constant nodes become constants like initializers, not nodes.
  ValueId c = g.find_value("c");
  ASSERT_NE(c, kNoId);
  ASSERT_TRUE(g.values[c].constant.has_value());
  EXPECT_FLOAT_EQ(g.values[c].constant->ptr<float>()[0], 0.5f);
  for (const Node& n : g.nodes) EXPECT_NE(n.op, "Constant");
  // Producer / consumer links.
  ValueId s = g.find_value("s");
  ASSERT_NE(g.values[s].producer, kNoId);
  EXPECT_EQ(g.nodes[g.values[s].producer].name, "add_ab");
  ASSERT_EQ(g.values[s].consumers.size(), 1u);
  EXPECT_EQ(g.nodes[g.values[s].consumers[0]].name, "mul_w");
}

TEST(Session, RunsWithDynamicBatchAndFoldsShapeSubgraph) {
  Session session(import_onnx_file(kModel));
  for (int64_t batch : {1, 3, 7}) {
    Tensor a = filled({batch, 2, 3}, 0.f), b = filled({batch, 2, 3}, 1.f);
    auto outs = session.run({a, b});
    ASSERT_EQ(outs.size(), 1u);
    expect_model_output(a, b, outs[0]);
  }
  Tensor a = filled({2, 2, 3}, 0.f);
  Plan& plan = session.plan_for({a, a});
  std::vector<std::string> ops;
  for (const auto& st : plan.steps()) ops.push_back(session.graph().nodes[st.node].op);
  // Shape, Gather, Unsqueeze and Concat were folded into a constant shape.
  EXPECT_EQ(ops, (std::vector<std::string>{"Add", "Mul", "Add", "Reshape"}));
}

TEST(Session, ArenaReusesMemoryOfDeadValues) {
  Session session(import_onnx_file(kModel));
  Tensor a = filled({64, 2, 3}, 0.f);
  Plan& plan = session.plan_for({a, a});
  size_t total = 0;
  for (const auto& v : plan.values())
    if (v.storage == Storage::kArena) total += v.nbytes;
  EXPECT_LT(plan.arena_bytes(), total);
}

TEST(Session, RejectsWrongShapesTypesAndNaN) {
  Session session(import_onnx_file(kModel));
  Tensor good = filled({2, 2, 3}, 0.f);
  EXPECT_THROW(session.run({good}), Error);
  EXPECT_THROW(session.run({good, filled({2, 3, 3}, 0.f)}), Error);
  Tensor ints(DType::kI64, {2, 2, 3});
  EXPECT_THROW(session.run({good, ints}), Error);
  Tensor nan = filled({2, 2, 3}, 0.f);
  nan.ptr<float>()[4] = std::numeric_limits<float>::quiet_NaN();
  try {
    session.run({good, nan});
    FAIL() << "NaN input accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
  }
}

TEST(Session, RunNamedBindsByName) {
  Session session(import_onnx_file(kModel));
  Tensor a = filled({2, 2, 3}, 0.f), b = filled({2, 2, 3}, 5.f);
  auto outs = session.run_named({{"b", b}, {"a", a}});
  expect_model_output(a, b, outs[0]);
  EXPECT_THROW(session.run_named({{"a", a}}), Error);
  EXPECT_THROW(session.run_named({{"a", a}, {"b", b}, {"zzz", b}}), Error);
}

// A hook sees every step and can restart the run from an earlier step, as
// recovery will; the outputs must be the same.
class CountingHooks : public ExecHooks {
 public:
  size_t before = 0, after = 0, restarts_left = 1;
  void before_step(Execution&, size_t) override { ++before; }
  size_t after_step(Execution& ex, size_t step) override {
    ++after;
    if (step == 2 && restarts_left > 0) {
      --restarts_left;
      return 1;
    }
    return step + 1;
  }
};

TEST(Session, HooksSeeEveryStepAndCanRestart) {
  Session session(import_onnx_file(kModel));
  CountingHooks hooks;
  session.set_hooks(&hooks);
  Tensor a = filled({2, 2, 3}, 0.f), b = filled({2, 2, 3}, 1.f);
  auto outs = session.run({a, b});
  expect_model_output(a, b, outs[0]);
  // 4 steps, steps 1 and 2 run twice.
  EXPECT_EQ(hooks.before, 6u);
  EXPECT_EQ(hooks.after, 6u);
}

TEST(Import, RejectsBadFiles) {
  EXPECT_THROW(import_onnx_file("/nonexistent/model.onnx"), Error);
  EXPECT_THROW(import_onnx_bytes("this is not a protobuf at all \xff\xff\xff", "garbage"), Error);
  try {
    Session s(import_onnx_file(std::string(SAVE_SOURCE_DIR) + "/tests/data/unsupported_op.onnx"));
    s.run({Tensor(DType::kF32, {1, 4})});
    FAIL() << "unsupported op accepted";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("Hardmax"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mystery_node"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace save
