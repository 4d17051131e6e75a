// BatchNormalization folding: the ResNet's BN nodes disappear into its convs
// and the outputs stay the same within float rounding.
#include "passes/fold_batchnorm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/dataset.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace save {
namespace {

const std::string kResnet = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-resnet.onnx";

size_t count_op(const Graph& g, const std::string& op) {
  return static_cast<size_t>(
      std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

TEST(FoldBatchNorm, RemovesEveryConvFollowedBatchNorm) {
  Graph g = import_onnx_file(kResnet);
  size_t bn = count_op(g, "BatchNormalization");
  size_t conv = count_op(g, "Conv");
  ASSERT_GT(bn, 0u);
  EXPECT_EQ(fold_batchnorm_into_conv(g), bn);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 0u);
  EXPECT_EQ(count_op(g, "Conv"), conv);
  EXPECT_EQ(fold_batchnorm_into_conv(g), 0u);  // idempotent
}

TEST(FoldBatchNorm, KeepsOutputs) {
  SessionOptions plain;
  plain.passes.enabled = false;
  Session folded(import_onnx_file(kResnet));
  Session unfolded(import_onnx_file(kResnet), plain);
  EXPECT_EQ(count_op(folded.graph(), "BatchNormalization"), 0u);
  Tensor x = slice_rows(load_dataset("fashion-mnist").images, 0, 32);
  Tensor a = folded.run({x})[0], b = unfolded.run({x})[0];
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_NEAR(a.ptr<float>()[i], b.ptr<float>()[i], 1e-4 * (1 + std::abs(b.ptr<float>()[i])));
}

TEST(FoldBatchNorm, LeavesStandaloneBatchNormAlone) {
  Graph g =
      import_onnx_file("/usr/share/libonnx-testdata/data/node/test_batchnorm_example/model.onnx");
  EXPECT_EQ(fold_batchnorm_into_conv(g), 0u);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 1u);
}

}  // namespace
}  // namespace save
