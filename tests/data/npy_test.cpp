// The .npy reader on hostile headers (src/data/npy.*): shapes with signs,
// overflowing products, data shorter or longer than the shape, and the
// round trip of a good file.
#include "data/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "core/error.hpp"

namespace save {
namespace {

std::string npy(const std::string& descr, const std::string& shape, size_t data_bytes) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(data_bytes, '\0');
}

std::string error_of(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    read_npy(in, "t.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, GoodFileReads) {
  std::istringstream in(npy("<f4", "(2, 3)", 24));
  Tensor t = read_npy(in, "t.npy");
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  std::istringstream scalar(npy("<i8", "()", 8));
  EXPECT_EQ(read_npy(scalar, "s.npy").rank(), 0u);
  std::istringstream vec(npy("<i8", "(5,)", 40));
  EXPECT_EQ(read_npy(vec, "v.npy").shape(), (Shape{5}));
}

TEST(Npy, SignsAndGarbageInTheShapeAreRefused) {
  EXPECT_NE(error_of(npy("<f4", "(-4, 1, 28, 28)", 4 * 784 * 4)).find("'-4'"), std::string::npos);
  EXPECT_NE(error_of(npy("<f4", "(2x, 3)", 24)).find("'2x'"), std::string::npos);
  EXPECT_NE(error_of(npy("<f4", "(2,, 3)", 24)).find("empty entry"), std::string::npos);
  EXPECT_NE(error_of(npy("<f4", "(99999999999999999999,)", 0)).find("too large"),
            std::string::npos);
}

TEST(Npy, OverflowingShapeIsRefused) {
  std::string e = error_of(npy("<f4", "(4, 4611686018427387908)", 64));
  EXPECT_NE(e.find("overflows"), std::string::npos) << e;
  e = error_of(npy("<f8", "(2305843009213693952,)", 64));  // 2^61 doubles: 2^64 bytes
  EXPECT_NE(e.find("2^63 bytes"), std::string::npos) << e;
}

TEST(Npy, DataMustMatchTheShape) {
  EXPECT_NE(error_of(npy("<f4", "(2, 3)", 20)).find("truncated .npy data (20 of 24"),
            std::string::npos);
  EXPECT_NE(error_of(npy("<f4", "(2, 3)", 40)).find("16 bytes after"), std::string::npos);
  // A header that claims far more than the file holds is refused before
  // the claimed size is allocated.
  EXPECT_NE(error_of(npy("<f4", "(1000000000000,)", 8)).find("truncated"), std::string::npos);
}

TEST(Npy, BadMagicAndVersion) {
  EXPECT_NE(error_of("hello").find("bad magic"), std::string::npos);
  std::string v9 = npy("<f4", "(1,)", 4);
  v9[6] = 9;
  EXPECT_NE(error_of(v9).find("version 9"), std::string::npos) << error_of(v9);
}

}  // namespace
}  // namespace save
