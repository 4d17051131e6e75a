// The one input loader (data/input_spec.hpp) on the two-input fixture
// (tests/data/multi_input, tools/make_multi_input.py): what it loads, and
// one clear error per mistake, naming the input and what the model expects.
#include "data/input_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "data/npy.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace save {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(SAVE_SOURCE_DIR) + "/tests/data/multi_input/";

const Graph& model() {
  static const Graph g = import_onnx_file(kDir + "model.onnx");
  return g;
}

fs::path scratch() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("save_input_spec_" + std::to_string(getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string npy(const std::string& name, const Tensor& t) {
  const std::string p = (scratch() / name).string();
  write_npy(p, t);
  return p;
}

InputOptions good() {
  InputOptions o;
  o.inputs = {"image=" + kDir + "image.npy", "vec=" + kDir + "vec.npy"};
  return o;
}

// The error load_input_set gives for `o`; fails the test when none.
std::string error_of(const InputOptions& o) {
  try {
    (void)load_input_set(model(), o);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

void expect_has(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(text.find(p), std::string::npos) << text;
}

TEST(InputSpec, LoadsEveryInputInModelOrder) {
  InputOptions o = good();
  std::swap(o.inputs[0], o.inputs[1]);  // the order given does not matter
  o.labels = kDir + "labels.npy";
  const Dataset d = load_input_set(model(), o);
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.names, (std::vector<std::string>{"image", "vec"}));
  EXPECT_EQ(d.inputs[0].shape(), (Shape{4, 3, 10, 10}));
  EXPECT_EQ(d.inputs[1].shape(), (Shape{4, 5}));
  EXPECT_EQ(d.size(), 4);
  EXPECT_EQ(d.labels.size(), 4u);
  EXPECT_FALSE(d.sha256.empty());
  const std::vector<Tensor> b = batch_of(d, 1, 3);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].shape(), (Shape{2, 3, 10, 10}));
  EXPECT_EQ(b[1].ptr<float>()[0], d.inputs[1].ptr<float>()[5]);
  // The batches run: every input fed.
  Session s(model());
  const std::vector<Tensor> out = s.run(b);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
}

TEST(InputSpec, AFolderIsOneSamplePerFileInNameOrder) {
  InputOptions o = good();
  o.inputs[0] = "image=" + kDir + "image_folder";
  const Dataset folder = load_input_set(model(), o);
  const Dataset file = load_input_set(model(), good());
  ASSERT_EQ(folder.inputs[0].shape(), file.inputs[0].shape());
  EXPECT_EQ(0,
            std::memcmp(folder.inputs[0].data(), file.inputs[0].data(), file.inputs[0].nbytes()));
  EXPECT_NE(folder.sha256, file.sha256);  // keyed by what was read
}

TEST(InputSpec, EachMistakeIsOneErrorNamingTheInput) {
  InputOptions o = good();
  o.inputs.push_back("img=" + kDir + "image.npy");
  expect_has(error_of(o), {"no input named 'img'", "'image', 'vec'"});

  o = good();
  o.inputs.pop_back();
  expect_has(error_of(o), {"input 'vec'", "not given", "--input vec=FILE.npy"});

  o = good();
  o.inputs.push_back("vec=" + kDir + "vec.npy");
  expect_has(error_of(o), {"'vec' is given twice"});

  o = good();
  o.inputs[1] = "vec";
  expect_has(error_of(o), {"--input 'vec'", "NAME=FILE.npy"});

  o = good();
  o.inputs[1] = "vec=" + npy("vec64.npy", Tensor(DType::kF64, {4, 5}));
  expect_has(error_of(o), {"input 'vec' is float32", "float64"});

  o = good();
  o.inputs[1] = "vec=" + npy("vec_rank3.npy", Tensor(DType::kF32, {4, 5, 1}));
  expect_has(error_of(o), {"input 'vec'", "rank 2", "rank 3"});

  o = good();
  o.inputs[1] = "vec=" + npy("vec_wide.npy", Tensor(DType::kF32, {4, 6}));
  expect_has(error_of(o), {"input 'vec'", "dim 1 of the data is 6", "fixes it at 5"});

  o = good();
  o.inputs[1] = "vec=" + npy("vec_3.npy", Tensor(DType::kF32, {3, 5}));
  expect_has(error_of(o), {"3 samples", "holds 4", "one row per sample"});

  o = good();
  o.inputs[1] = "vec=" + (scratch() / "missing.npy").string();
  expect_has(error_of(o), {"--input vec=", "no such file"});

  o = good();
  o.data = "fashion-mnist";
  expect_has(error_of(o), {"not both"});

  o = InputOptions{};
  o.data = kDir + "image.npy";
  expect_has(error_of(o), {"single-input model", "2 inputs", "'image', 'vec'"});

  o = InputOptions{};
  expect_has(error_of(o), {"--input NAME=FILE.npy"});

  o = good();
  o.labels = npy("labels_short.npy", Tensor::from<int64_t>({3}, std::vector<int64_t>{0, 1, 2}));
  expect_has(error_of(o), {"labels must be a vector of 4 entries"});
}

TEST(InputSpec, FolderMistakes) {
  const fs::path empty = scratch() / "empty_folder";
  fs::create_directories(empty);
  InputOptions o = good();
  o.inputs[0] = "image=" + empty.string();
  expect_has(error_of(o), {"--input image=", "holds no .npy files"});

  const fs::path mixed = scratch() / "mixed_folder";
  fs::create_directories(mixed);
  write_npy((mixed / "a.npy").string(), Tensor(DType::kF32, {3, 10, 10}));
  write_npy((mixed / "b.npy").string(), Tensor(DType::kF32, {3, 12, 12}));
  o.inputs[0] = "image=" + mixed.string();
  expect_has(error_of(o), {"'b.npy'", "'a.npy'", "same dtype and shape"});
}

TEST(InputSpec, InputShapesAreCheckedAgainstModelAndData) {
  // Stated where the model leaves dims unknown: the analysis shape.
  EXPECT_EQ(parse_input_shapes(model(), {"image=1x3x16x16"}).at("image"), (Shape{1, 3, 16, 16}));
  auto error_for = [](std::vector<std::string> shapes) {
    try {
      (void)parse_input_shapes(model(), shapes);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  expect_has(error_for({"image=1x4x16x16"}), {"input 'image'", "fixes dim 1 at 3"});
  expect_has(error_for({"image=1x3x16"}), {"rank 4", "not rank 3"});
  expect_has(error_for({"imag=1x3x16x16"}), {"no input named 'imag'"});
  expect_has(error_for({"image=1x3x0x16"}), {"1 or more"});
  expect_has(error_for({"image=1x3x8x8", "image=1x3x9x9"}), {"'image' is given twice"});
  // Given with data: must agree with it.
  InputOptions o = good();
  o.shapes = {"image=1x3x16x16"};
  expect_has(error_of(o), {"--input-shape image=", "3x10x10"});
  o.shapes = {"image=1x3x10x10"};
  EXPECT_EQ(load_input_set(model(), o).size(), 4);
  // One sample of the data is what the analysis plans with.
  const Dataset d = load_input_set(model(), good());
  EXPECT_EQ(analysis_shapes(model(), good(), &d).at("image"), (Shape{1, 3, 10, 10}));
}

TEST(InputSpec, AShapeTheModelCannotTakeIsRefusedBeforeAnything) {
  // 1x1 images pass the declared shape (H, W dynamic) but not MaxPool 2.
  InputOptions o = good();
  o.inputs[0] = "image=" + npy("tiny.npy", Tensor(DType::kF32, {4, 3, 1, 1}));
  const Dataset d = load_input_set(model(), o);
  Session s(model());
  try {
    check_model_takes(s, d, 2);
    FAIL() << "a 1x1 image cannot be pooled by 2";
  } catch (const Error& e) {
    expect_has(e.what(), {"cannot run inputs of shape", "image: 2x3x1x1", "vec: 2x5"});
  }
}

}  // namespace
}  // namespace save
