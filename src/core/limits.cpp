#include "core/limits.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace save {

namespace {

std::atomic<uint64_t> g_limit{0};

// MemAvailable from /proc/meminfo (what can be allocated without swapping);
// 2^63 when it cannot be read (no limit rather than a wrong one).
uint64_t available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return uint64_t{1} << 63;
}

}  // namespace

int64_t checked_numel(std::span<const int64_t> shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape)
    SAVE_CHECK(d >= 0, "{}: negative dimension {} in shape [{}]", what, d, fmt::join(shape, ", "));
  for (int64_t d : shape)
    SAVE_CHECK(!__builtin_mul_overflow(n, d, &n),
               "{}: shape [{}] has more than 2^63 elements (the element count overflows)", what,
               fmt::join(shape, ", "));
  return n;
}

uint64_t checked_nbytes(std::span<const int64_t> shape, DType dtype, const std::string& what) {
  int64_t n = checked_numel(shape, what), bytes = 0;
  SAVE_CHECK(!__builtin_mul_overflow(n, static_cast<int64_t>(dtype_size(dtype)), &bytes),
             "{}: shape [{}] needs more than 2^63 bytes", what, fmt::join(shape, ", "));
  return static_cast<uint64_t>(bytes);
}

uint64_t memory_limit() {
  uint64_t v = g_limit.load(std::memory_order_relaxed);
  if (v == 0) {
    v = available_memory();
    g_limit.store(v, std::memory_order_relaxed);
  }
  return v;
}

void set_memory_limit(uint64_t bytes) {
  g_limit.store(bytes, std::memory_order_relaxed);
}

std::string bytes_text(uint64_t b) {
  if (b < 10 * 1024) return fmt::format("{} B", b);
  double d = static_cast<double>(b);
  if (b < uint64_t{10} << 20) return fmt::format("{:.1f} KiB", d / 1024);
  if (b < uint64_t{10} << 30) return fmt::format("{:.1f} MiB", d / (1024.0 * 1024));
  return fmt::format("{:.1f} GiB", d / (1024.0 * 1024 * 1024));
}

void check_memory(uint64_t bytes, const std::string& what) {
  uint64_t limit = memory_limit();
  SAVE_CHECK(bytes <= limit,
             "{} needs {} ({} bytes), more than the memory limit of {} (--max-memory; default: "
             "the machine's available memory)",
             what, bytes_text(bytes), bytes, bytes_text(limit));
}

uint64_t parse_memory_size(const std::string& text, const std::string& flag) {
  size_t pos = 0;
  double v = -1;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  std::string unit = text.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mul = 0;
  if (unit.empty() || unit == "b") mul = 1;
  if (unit == "k" || unit == "kb") mul = 1e3;
  if (unit == "m" || unit == "mb") mul = 1e6;
  if (unit == "g" || unit == "gb") mul = 1e9;
  if (unit == "kib") mul = 1024;
  if (unit == "mib") mul = 1024.0 * 1024;
  if (unit == "gib") mul = 1024.0 * 1024 * 1024;
  SAVE_CHECK(pos > 0 && mul > 0 && std::isfinite(v) && v > 0,
             "{}: '{}' is not a positive size (BYTES, or a number with KB, MB, GB, KiB, MiB, GiB)",
             flag, text);
  double bytes = std::floor(v * mul);
  SAVE_CHECK(bytes >= 1 && bytes < 0x1p62, "{}: '{}' is not a size a machine has", flag, text);
  return static_cast<uint64_t>(bytes);
}

}  // namespace save
