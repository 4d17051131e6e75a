// The pass pipeline on the bundled models: the passes run in the order of
// pass_list.inc, their names are recorded on the graph, fusion removes the
// nodes it should (and every value it removes is gone from the plan), and
// the rewritten graph gives the outputs of the graph as written on real
// Fashion-MNIST images and on random inputs.
#include "passes/pipeline.hpp"

#include <gtest/gtest.h>

#include <iostream>

#include "data/dataset.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "ops/op_test_util.hpp"
#include "passes/pass_test_util.hpp"

namespace save {
namespace {

std::string model_path(const std::string& m) {
  return std::string(SAVE_SOURCE_DIR) + "/models/" + m + ".onnx";
}

TEST(Pipeline, ListsEveryPassOnceAndRecordsThem) {
  std::vector<std::string> names;
  for (const PassDef& p : all_passes()) names.push_back(p.name);
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "fold-batchnorm");
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  Graph g = import_onnx_file(model_path("fmnist-cnn"));
  EXPECT_TRUE(g.passes.empty());
  std::vector<PassReport> r = run_passes(g);
  EXPECT_EQ(g.passes, names);
  EXPECT_EQ(r.size(), names.size());
  Graph h = import_onnx_file(model_path("fmnist-cnn"));
  PassOptions off;
  off.enabled = false;
  EXPECT_TRUE(run_passes(h, off).empty());
  EXPECT_TRUE(h.passes.empty());
  EXPECT_EQ(passes_str({}), "none");
  EXPECT_EQ(passes_str({"a", "b"}), "a,b");
}

TEST(Pipeline, SessionRunsThePassesUnlessDisabled) {
  Session fused(import_onnx_file(model_path("fmnist-cnn")));
  SessionOptions so;
  so.passes.enabled = false;
  Session plain(import_onnx_file(model_path("fmnist-cnn")), so);
  EXPECT_FALSE(fused.graph().passes.empty());
  EXPECT_TRUE(plain.graph().passes.empty());
  EXPECT_LT(fused.graph().nodes.size(), plain.graph().nodes.size());
}

class PipelineModel : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineModel, KeepsOutputsAndDropsFusedValuesFromThePlan) {
  Graph g = import_onnx_file(model_path(GetParam()));
  Graph f = g;
  std::vector<PassReport> r = run_passes(f);
  size_t removed = g.nodes.size() - f.nodes.size();
  std::cout << GetParam() << ": " << g.nodes.size() << " nodes, " << f.nodes.size()
            << " after the passes (" << removed << " removed:";
  for (const PassReport& p : r) std::cout << " " << p.name << " " << p.rewrites;
  std::cout << ")\n";
  RecordProperty("nodes_removed", static_cast<int>(removed));
  EXPECT_GT(removed, 0u);
  size_t fused_nodes = 0;
  for (const Node& n : f.nodes) fused_nodes += n.domain == "ai.save";
  EXPECT_GT(fused_nodes, 0u);

  Tensor images = slice_rows(load_dataset("fashion-mnist").images, 0, 16);
  Tensor noise = test::random_f32(images.shape(), 7, 0.f, 1.f);
  SessionOptions off;
  off.passes.enabled = false;
  Session s_plain(g, off), s_fused(f, off);
  for (const Tensor& x : {images, noise}) {
    Tensor a = s_fused.run({x})[0], b = s_plain.run({x})[0];
    test::expect_near_all(a, b, 1e-4, 1e-4, GetParam());
  }
  // Values the fusion removed have no producer and no slot in the plan.
  Plan& plan = s_fused.plan_for({images});
  for (ValueId v = 0; v < f.values.size(); ++v) {
    if (f.values[v].producer != kNoId || f.values[v].constant || f.values[v].is_graph_input)
      continue;
    EXPECT_EQ(plan.values()[v].storage, Storage::kNone) << f.values[v].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Bundled, PipelineModel,
                         ::testing::Values("fmnist-cnn", "fmnist-resnet", "fmnist-vit"));

}  // namespace
}  // namespace save
