// Readers and writers of src/data: .npy round trips and errors, IDX.
#include "data/dataset.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "data/npy.hpp"

namespace save {
namespace {

namespace fs = std::filesystem;

fs::path tmp(const std::string& name) {
  return fs::temp_directory_path() / name;
}

TEST(Npy, RoundTripsTypesAndShapes) {
  for (Shape shape : {Shape{}, Shape{5}, Shape{2, 3, 4}, Shape{0, 3}}) {
    Tensor f(DType::kF32, shape);
    for (int64_t i = 0; i < f.numel(); ++i) f.ptr<float>()[i] = 0.25f * static_cast<float>(i);
    write_npy(tmp("rt.npy").string(), f);
    Tensor g = read_npy(tmp("rt.npy").string());
    ASSERT_EQ(g.shape(), shape);
    ASSERT_EQ(g.dtype(), DType::kF32);
    EXPECT_EQ(std::memcmp(f.data(), g.data(), f.nbytes()), 0);
  }
  Tensor i(DType::kI64, {3});
  i.ptr<int64_t>()[2] = -7;
  write_npy(tmp("rt64.npy").string(), i);
  EXPECT_EQ(read_npy(tmp("rt64.npy").string()).to_int64(), (std::vector<int64_t>{0, 0, -7}));
}

TEST(Npy, RejectsTruncatedAndForeignFiles) {
  Tensor f(DType::kF32, {100});
  write_npy(tmp("full.npy").string(), f);
  std::ifstream in(tmp("full.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(tmp("cut.npy"), std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  EXPECT_THROW(read_npy(tmp("cut.npy").string()), Error);
  std::ofstream(tmp("text.npy"), std::ios::binary) << "hello world, not numpy";
  EXPECT_THROW(read_npy(tmp("text.npy").string()), Error);
  EXPECT_THROW(read_npy("/nonexistent/x.npy"), Error);
}

TEST(Npy, WriteLeavesNoTemporaryFile) {
  write_npy(tmp("clean.npy").string(), Tensor(DType::kF32, {2}));
  EXPECT_TRUE(fs::exists(tmp("clean.npy")));
  EXPECT_FALSE(fs::exists(tmp("clean.npy.tmp")));
}

TEST(Idx, ReadsFashionMnistTestSet) {
  Dataset ds = load_dataset("fashion-mnist");
  ASSERT_EQ(ds.images.shape(), (Shape{10000, 1, 28, 28}));
  ASSERT_EQ(ds.labels.size(), 10000u);
  float lo = 1, hi = 0;
  for (float v : ds.images.values<float>()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  std::vector<int> count(10, 0);
  for (int64_t l : ds.labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 10);
    ++count[static_cast<size_t>(l)];
  }
  for (int c : count) EXPECT_EQ(c, 1000);  // the test set is balanced
}

TEST(Idx, RejectsNonIdx) {
  std::ofstream(tmp("bad.idx"), std::ios::binary) << "not an idx file";
  EXPECT_THROW(read_idx(tmp("bad.idx").string()), Error);
  EXPECT_THROW(load_dataset(tmp("bad.idx").string()), Error);
}

TEST(Dataset, SliceRowsCopiesTheRightRows) {
  Tensor t(DType::kF32, {4, 2});
  for (int64_t i = 0; i < 8; ++i) t.ptr<float>()[i] = static_cast<float>(i);
  Tensor s = slice_rows(t, 1, 3);
  ASSERT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.ptr<float>()[0], 2.0f);
  EXPECT_EQ(s.ptr<float>()[3], 5.0f);
}

}  // namespace
}  // namespace save
