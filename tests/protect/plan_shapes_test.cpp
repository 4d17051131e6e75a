// Per-shape soundness of protection plans (issue 11, item 3): bounds are
// derived at the shapes that run. A model with dynamic spatial dims (a
// padded Conv: its border sees zeros, so the channel ranges depend on the
// image size) analysed at one size is refused at another with a clear
// error; `--protect save` without a plan analyses each new shape it runs,
// and fault-free runs at two sizes (and two batch sizes) raise no alarm.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "analysis/range_analysis.hpp"
#include "core/error.hpp"
#include "exec/hook_chain.hpp"
#include "graph_builder.hpp"
#include "inject/rng.hpp"
#include "modes/registry.hpp"
#include "protect/mode.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {
namespace {

using test::add_constant;
using test::add_value;
using test::random_tensor;

Node& add_node(Graph& g, const std::string& op, std::vector<ValueId> in, ValueId out) {
  Node n;
  n.name = op + "_" + std::to_string(g.nodes.size());
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  g.nodes.push_back(std::move(n));
  return g.nodes.back();
}

// x[N, 1, H, W] -> Conv 3x3 pad 1 -> Relu -> Conv 3x3 pad 1 -> GlobalAveragePool
// -> Flatten -> MatMul -> y[N, 3]; N, H, W dynamic.
Graph detector() {
  Rng rng(3);
  Graph g;
  g.opset = 13;
  const Dim n{-1, "N"}, h{-1, "H"}, w{-1, "W"};
  ValueId x = add_value(g, "x", {n, {1, ""}, h, w});
  g.values[x].is_graph_input = true;
  g.inputs = {x};
  ValueId w1 = add_constant(g, "w1", random_tensor({4, 1, 3, 3}, rng, -1, 1));
  ValueId b1 = add_constant(g, "b1", random_tensor({4}, rng, -0.1f, 0.1f));
  ValueId w2 = add_constant(g, "w2", random_tensor({4, 4, 3, 3}, rng, -1, 1));
  ValueId w3 = add_constant(g, "w3", random_tensor({4, 3}, rng, -1, 1));
  ValueId c1 = add_value(g, "c1", {n, {4, ""}, h, w});
  ValueId r1 = add_value(g, "r1", {n, {4, ""}, h, w});
  ValueId c2 = add_value(g, "c2", {n, {4, ""}, h, w});
  ValueId p = add_value(g, "p", {n, {4, ""}, {1, ""}, {1, ""}});
  ValueId f = add_value(g, "f", {n, {4, ""}});
  ValueId y = add_value(g, "y", {n, {3, ""}});
  const std::vector<int64_t> pads{1, 1, 1, 1};
  add_node(g, "Conv", {x, w1, b1}, c1).attrs.set("pads", pads);
  add_node(g, "Relu", {c1}, r1);
  add_node(g, "Conv", {r1, w2}, c2).attrs.set("pads", pads);
  add_node(g, "GlobalAveragePool", {c2}, p);
  add_node(g, "Flatten", {p}, f);
  add_node(g, "MatMul", {f, w3}, y);
  g.values[y].is_graph_output = true;
  g.outputs = {y};
  g.link();
  return g;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "-" + std::to_string(::getpid()) + ".json"))
      .string();
}

protect::ProtectionOptions options(const std::string& plan_path) {
  protect::ProtectionOptions o;
  o.plan_path = plan_path;
  o.model_sha256 = "test";
  o.log = nullptr;
  o.reliable_mem = "0";  // every value checked
  return o;
}

RangeOptions at(Shape shape) {
  RangeOptions ro;
  ro.input_shapes["x"] = std::move(shape);
  return ro;
}

TEST(PlanShapes, BoundsDependOnTheSpatialSize) {
  // Why a plan must name its shape: at 1x1 only the centre tap of the
  // first Conv sees the image, at 8x8 all nine do.
  Session s(detector());
  const ProtectionPlan small = build_plan(s, at({1, 1, 1, 1}), 1e-5, "test");
  const ProtectionPlan large = build_plan(s, at({1, 1, 8, 8}), 1e-5, "test");
  const ActivationPlan& a = small.activations.at("c2");
  const ActivationPlan& b = large.activations.at("c2");
  bool wider = false;
  for (size_t c = 0; c < a.hi.size(); ++c) wider = wider || b.hi[c] > a.hi[c] + 1e-3f;
  EXPECT_TRUE(wider);
}

TEST(PlanShapes, PlanRecordsItsShapesAndAnyBatchForPerSampleModels) {
  Session s(detector());
  const ProtectionPlan p = build_plan(s, at({4, 1, 8, 8}), 1e-5, "test");
  ASSERT_EQ(p.shapes.names, std::vector<std::string>{"x"});
  EXPECT_EQ(p.shapes.shapes[0], (Shape{1, 1, 8, 8}));  // per sample: analysed at batch 1
  EXPECT_TRUE(p.shapes.any_batch);
  EXPECT_EQ(p.shapes.mismatch({{7, 1, 8, 8}}), "");
  EXPECT_NE(p.shapes.mismatch({{1, 1, 16, 16}}).find("1x1x16x16"), std::string::npos);
  EXPECT_NE(p.shapes.mismatch({{1, 1, 16, 16}}).find("Nx1x8x8"), std::string::npos);
  // Round trip through the file.
  const std::string path = temp_path("plan-shapes");
  save_plan(p, path);
  const ProtectionPlan q = load_plan(path, "test");
  EXPECT_EQ(q.shapes.shapes, p.shapes.shapes);
  EXPECT_EQ(q.shapes.any_batch, p.shapes.any_batch);
  std::filesystem::remove(path);
}

TEST(PlanShapes, ModelsMixingSamplesAreAnalysedAtTheirBatch) {
  // Softmax over axis 0 mixes the samples: bounds at batch 1 say nothing
  // about batch 4, so the plan is for batch 4 only.
  Graph g = detector();
  ValueId y = g.outputs[0];
  ValueId z = add_value(g, "z", {{-1, "N"}, {3, ""}});
  g.values[y].is_graph_output = false;
  add_node(g, "Softmax", {y}, z).attrs.set("axis", int64_t{0});
  g.values[z].is_graph_output = true;
  g.outputs = {z};
  g.link();
  Session s(std::move(g));
  const ProtectionPlan p = build_plan(s, at({4, 1, 8, 8}), 1e-5, "test");
  EXPECT_FALSE(p.shapes.any_batch);
  EXPECT_EQ(p.shapes.shapes[0], (Shape{4, 1, 8, 8}));
  EXPECT_NE(p.shapes.mismatch({{2, 1, 8, 8}}), "");
}

TEST(PlanShapes, PlanFileRefusesAnotherShape) {
  Session s(detector());
  const std::string path = temp_path("plan-8x8");
  save_plan(build_plan(s, at({1, 1, 8, 8}), 1e-5, "test"), path);
  Session run(detector());
  auto prot = modes::make_protection("save", run, options(path));
  prot->begin_trial(nullptr);
  Rng rng(5);
  size_t prepared = 0;
  // Its own shape, at two batch sizes: no alarm.
  for (int64_t batch : {1, 5})
    protect::run_protected(*prot, run, {random_tensor({batch, 1, 8, 8}, rng, 0, 1)}, prepared);
  EXPECT_EQ(prot->end_trial().detections, 0);
  try {
    protect::run_protected(*prot, run, {random_tensor({1, 1, 16, 16}, rng, 0, 1)}, prepared);
    ADD_FAILURE() << "a plan made for 8x8 images ran at 16x16";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("not made for this input shape"), std::string::npos) << m;
    EXPECT_NE(m.find("1x1x16x16"), std::string::npos) << m;
  }
  std::filesystem::remove(path);
}

TEST(PlanShapes, OnTheFlyAnalysisFollowsTheShapesThatRun) {
  Session run(detector());
  auto prot = modes::make_protection("save", run, options(""));
  prot->begin_trial(nullptr);
  Rng rng(6);
  size_t prepared = 0;
  int64_t runs = 0;
  for (Shape shape : {Shape{2, 1, 8, 8}, Shape{3, 1, 16, 16}, Shape{1, 1, 8, 8}})
    for (int k = 0; k < 5; ++k, ++runs) {
      // Random images, and the extremes of the constraint.
      const float c = k == 0 ? 0.f : 1.f;
      Tensor x = k < 2 ? random_tensor(shape, rng, c, c) : random_tensor(shape, rng, 0, 1);
      protect::run_protected(*prot, run, {x}, prepared);
    }
  const protect::ProtectionCounts counts = prot->end_trial();
  EXPECT_EQ(counts.detections, 0);
  EXPECT_EQ(counts.false_alarms, 0);
  EXPECT_EQ(runs, 15);
}

}  // namespace
}  // namespace save::protect
