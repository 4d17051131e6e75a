// Whole-model correctness gates: each bundled model run by our engine on all
// 10,000 Fashion-MNIST test images agrees with PyTorch's predicted label on
// at least 9,998 images, and its logits for the first 256 images match
// PyTorch's within 1e-4 relative (references in models/ref/, written by
// tools/train_models.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace save {
namespace {

const std::string kModels = std::string(SAVE_SOURCE_DIR) + "/models";

std::vector<int64_t> read_labels(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::vector<int64_t> out;
  int64_t v;
  while (f >> v) out.push_back(v);
  return out;
}

const Dataset& test_set() {
  static const Dataset ds = load_dataset("fashion-mnist");
  return ds;
}

class BundledModel : public ::testing::TestWithParam<std::string> {};

TEST_P(BundledModel, AgreesWithPyTorchOnAllTestImages) {
  const std::string name = GetParam();
  Session session(import_onnx_file(kModels + "/" + name + ".onnx"));
  const Dataset& ds = test_set();
  std::vector<int64_t> torch_labels = read_labels(kModels + "/ref/" + name + "-labels.txt");
  ASSERT_EQ(static_cast<int64_t>(torch_labels.size()), ds.size());
  int64_t agree = 0, correct = 0;
  const int64_t batch = 100;
  for (int64_t b = 0; b < ds.size(); b += batch) {
    Tensor logits = session.run({slice_rows(ds.images, b, b + batch)})[0];
    ASSERT_EQ(logits.shape(), (Shape{batch, 10}));
    for (int64_t i = 0; i < batch; ++i) {
      const float* row = logits.ptr<float>() + i * 10;
      int64_t pred = std::max_element(row, row + 10) - row;
      agree += pred == torch_labels[b + i];
      correct += pred == ds.labels[b + i];
    }
  }
  EXPECT_GE(agree, 9998) << name << ": agrees with PyTorch on " << agree << " of 10000";
  RecordProperty("accuracy", std::to_string(static_cast<double>(correct) / 100.0));
  std::printf("%s: accuracy %.2f%%, agreement with PyTorch %lld/10000\n", name.c_str(),
              static_cast<double>(correct) / 100.0, static_cast<long long>(agree));
}

TEST_P(BundledModel, LogitsMatchPyTorch) {
  const std::string name = GetParam();
  Session session(import_onnx_file(kModels + "/" + name + ".onnx"));
  Tensor want = read_npy(kModels + "/ref/" + name + "-logits256.npy");
  ASSERT_EQ(want.shape(), (Shape{256, 10}));
  Tensor got = session.run({slice_rows(test_set().images, 0, 256)})[0];
  ASSERT_EQ(got.shape(), want.shape());
  // Relative to the row's largest logit: tiny logits near zero carry no
  // meaningful relative precision in float32.
  double worst = 0;
  for (int64_t r = 0; r < 256; ++r) {
    double scale = 0;
    for (int64_t k = 0; k < 10; ++k)
      scale = std::max<double>(scale, std::abs(want.ptr<float>()[r * 10 + k]));
    for (int64_t k = 0; k < 10; ++k) {
      double d = std::abs(got.ptr<float>()[r * 10 + k] - want.ptr<float>()[r * 10 + k]);
      worst = std::max(worst, d / std::max(scale, 1e-6));
    }
  }
  EXPECT_LE(worst, 1e-4) << name << ": worst relative logit difference " << worst;
}

INSTANTIATE_TEST_SUITE_P(Models, BundledModel,
                         ::testing::Values("fmnist-cnn", "fmnist-resnet", "fmnist-vit"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace
}  // namespace save
