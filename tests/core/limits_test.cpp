// Overflow-checked sizes and the memory limit (src/core/limits.*).
#include "core/limits.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace save {
namespace {

constexpr int64_t kHuge = (int64_t{1} << 62) + 4;

TEST(Limits, ElementCountsDoNotWrap) {
  // 4 * (2^62 + 4) is 16 modulo 2^64: the count that was trusted before.
  EXPECT_THROW(checked_numel(Shape{4, kHuge}, "t"), Error);
  EXPECT_THROW(shape_numel(Shape{4, kHuge}), Error);
  EXPECT_EQ(checked_numel(Shape{3, 5, 7}, "t"), 105);
  EXPECT_EQ(checked_numel(Shape{}, "t"), 1);
  EXPECT_EQ(checked_numel(Shape{0, kHuge}, "t"), 0);
  EXPECT_THROW(checked_numel(Shape{-4, 1, 28, 28}, "t"), Error);
  // Fits as a count, not as bytes.
  EXPECT_EQ(checked_numel(Shape{int64_t{1} << 61}, "t"), int64_t{1} << 61);
  EXPECT_THROW(checked_nbytes(Shape{int64_t{1} << 61}, DType::kF32, "t"), Error);
}

TEST(Limits, MessagesNameTheTensor) {
  try {
    checked_numel(Shape{4, kHuge}, "initializer 'w'");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("initializer 'w'"), std::string::npos) << e.what();
  }
}

TEST(Limits, TensorsAboveTheLimitAreRefusedBeforeAllocation) {
  uint64_t old = memory_limit();
  set_memory_limit(1 << 20);
  EXPECT_THROW(Tensor(DType::kF32, {1 << 20}), Error);  // 4 MiB
  EXPECT_NO_THROW(Tensor(DType::kF32, {1 << 10}));
  set_memory_limit(old);
  EXPECT_THROW(Tensor(DType::kF32, {4, kHuge}), Error);
}

TEST(Limits, DefaultLimitIsTheAvailableMemory) {
  // Some real number: more than 16 MiB, less than 2^62 (a machine's size).
  uint64_t v = memory_limit();
  EXPECT_GT(v, uint64_t{16} << 20);
  EXPECT_LT(v, uint64_t{1} << 62);
}

TEST(Limits, ParseMemorySize) {
  EXPECT_EQ(parse_memory_size("4096", "--m"), 4096u);
  EXPECT_EQ(parse_memory_size("4KiB", "--m"), 4096u);
  EXPECT_EQ(parse_memory_size("2mb", "--m"), 2000000u);
  EXPECT_EQ(parse_memory_size("1.5GiB", "--m"), 1610612736u);
  for (const char* bad : {"", "0", "-1", "1e99", "inf", "nan", "12 parsecs", "KiB"})
    EXPECT_THROW(parse_memory_size(bad, "--m"), Error) << bad;
}

}  // namespace
}  // namespace save
