// Hand-written: no Debian C++ library reads .npy (cnpy is not packaged); the
// format is a short text header followed by raw little-endian data.
#include "data/npy.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace save {

namespace {
DType dtype_from_descr(const std::string& d, const std::string& path) {
  if (d == "<f4") return DType::kF32;
  if (d == "<f8") return DType::kF64;
  if (d == "<i8") return DType::kI64;
  if (d == "<i4") return DType::kI32;
  if (d == "|i1") return DType::kI8;
  if (d == "|u1") return DType::kU8;
  if (d == "|b1") return DType::kBool;
  fail("'{}': .npy element type '{}' is not supported (float32/64, int8/32/64, uint8, bool)", path,
       d);
}
std::string descr_of(DType t) {
  switch (t) {
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
    case DType::kI64:
      return "<i8";
    case DType::kI32:
      return "<i4";
    case DType::kI8:
      return "|i1";
    case DType::kU8:
      return "|u1";
    case DType::kBool:
      return "|b1";
    default:
      fail("cannot write element type {} to .npy", dtype_name(t));
  }
}
}  // namespace

Tensor read_npy(const std::string& path) {
  std::error_code ec;
  SAVE_CHECK(!std::filesystem::is_directory(path, ec), "'{}' is a directory, not a .npy file",
             path);
  std::ifstream f(path, std::ios::binary);
  SAVE_CHECK(f.good(), "cannot open '{}': {}", path, std::strerror(errno));
  return read_npy(f, path);
}

Tensor read_npy(std::istream& f, const std::string& path) {
  char magic[8] = {};
  f.read(magic, 8);
  SAVE_CHECK(f.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0,
             "'{}' is not a .npy file (bad magic)", path);
  SAVE_CHECK(magic[6] >= 1 && magic[6] <= 3 && magic[7] == 0,
             "'{}': .npy format version {}.{} is not supported (1.0, 2.0, 3.0)", path,
             static_cast<int>(magic[6]), static_cast<int>(magic[7]));
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  SAVE_CHECK(f.good() && header_len < (1u << 20), "'{}': truncated .npy header", path);
  std::string header(header_len, '\0');
  f.read(header.data(), header_len);
  SAVE_CHECK(f.good(), "'{}': truncated .npy header", path);
  // The header is a Python dict literal; read the three keys by hand.
  auto value_after = [&](const std::string& key) -> std::string {
    size_t k = header.find("'" + key + "'");
    SAVE_CHECK(k != std::string::npos, "'{}': .npy header has no '{}'", path, key);
    size_t colon = header.find(':', k);
    SAVE_CHECK(colon != std::string::npos, "'{}': malformed .npy header", path);
    return header.substr(colon + 1);
  };
  std::string descr = value_after("descr");
  size_t q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  SAVE_CHECK(q1 != std::string::npos && q2 != std::string::npos, "'{}': malformed descr", path);
  DType dt = dtype_from_descr(descr.substr(q1 + 1, q2 - q1 - 1), path);
  std::string fortran = value_after("fortran_order");
  SAVE_CHECK(fortran.find("False") < fortran.find_first_of(",}"),
             "'{}': Fortran-order .npy arrays are not supported", path);
  std::string shape_text = value_after("shape");
  size_t open = shape_text.find('('), close = shape_text.find(')');
  SAVE_CHECK(open != std::string::npos && close != std::string::npos && open < close,
             "'{}': malformed shape in .npy header", path);
  // The tuple's entries: digits separated by commas (and spaces); a sign or
  // anything else is refused, not skipped ((-4, 1, 28, 28) is not 4 rows).
  Shape shape;
  std::string entry;
  auto end_entry = [&](bool last) {
    size_t a = entry.find_first_not_of(" \t"), b = entry.find_last_not_of(" \t");
    std::string e = a == std::string::npos ? "" : entry.substr(a, b - a + 1);
    entry.clear();
    if (e.empty()) {
      SAVE_CHECK(last, "'{}': malformed shape in .npy header (an empty entry)", path);
      return;
    }
    SAVE_CHECK(e.find_first_not_of("0123456789") == std::string::npos,
               "'{}': .npy shape entry '{}' is not a non-negative integer", path, e);
    int64_t v = 0;
    for (char ch : e)
      SAVE_CHECK(!__builtin_mul_overflow(v, 10, &v) && !__builtin_add_overflow(v, ch - '0', &v),
                 "'{}': .npy shape entry '{}' is too large", path, e);
    shape.push_back(v);
  };
  for (size_t c = open + 1; c < close; ++c) {
    if (shape_text[c] == ',')
      end_entry(false);
    else
      entry.push_back(shape_text[c]);
  }
  end_entry(true);
  const uint64_t nbytes = checked_nbytes(shape, dt, "'" + path + "'");
  // The data must be exactly what the header says, checked before the
  // tensor is allocated (a header may claim more than the file holds).
  const std::streamoff data_at = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff file_end = f.tellg();
  f.seekg(data_at);
  SAVE_CHECK(f.good() && data_at >= 0 && file_end >= data_at, "'{}': cannot read .npy data", path);
  const auto have = static_cast<uint64_t>(file_end - data_at);
  SAVE_CHECK(have >= nbytes, "'{}': truncated .npy data ({} of {} bytes for shape {})", path, have,
             nbytes, shape_str(shape));
  SAVE_CHECK(have == nbytes,
             "'{}': .npy file has {} bytes after the data its header describes (shape {}, {} "
             "bytes): not a single array",
             path, have - nbytes, shape_str(shape), nbytes);
  check_memory(nbytes, "'" + path + "'");
  Tensor t(dt, shape);
  f.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  SAVE_CHECK(static_cast<size_t>(f.gcount()) == t.nbytes(),
             "'{}': truncated .npy data ({} of {} bytes)", path, f.gcount(), t.nbytes());
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape;
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.rank() > 1) shape.pop_back();
  std::string header = "{'descr': '" + descr_of(t.dtype()) +
                       "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    SAVE_CHECK(f.good(), "cannot write '{}': {}", tmp, std::strerror(errno));
    f.write("\x93NUMPY\x01\x00", 8);
    uint16_t len = static_cast<uint16_t>(header.size());
    char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    f.write(lb, 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(static_cast<const char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
    SAVE_CHECK(f.good(), "failed writing '{}'", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    fail("cannot move '{}' into place: {}", path, ec.message());
  }
}

}  // namespace save
