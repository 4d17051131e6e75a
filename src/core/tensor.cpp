#include "core/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace save {

// Overflow-checked: a shape read from a file ([4, 2^62+4]) must not wrap to
// a small count that later code trusts for sizes and offsets.
int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      fail("shape {} has more than 2^63 elements (the element count overflows)", shape_str(shape));
  return n;
}

std::string shape_str(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::vector<int64_t> shape_strides(std::span<const int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

std::shared_ptr<std::byte[]> aligned_bytes(size_t n) {
  size_t rounded = ((n + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(64, rounded));
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte[]>(p, [](std::byte* q) { std::free(q); });
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_) SAVE_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape_));
  // Sizes are checked before the storage is zeroed; the message is only
  // formatted when a check fails (tensors are made on hot paths).
  int64_t n = 1, bytes = 0;
  bool fits = true;
  for (int64_t d : shape_) fits = fits && !__builtin_mul_overflow(n, d, &n);
  fits = fits && !__builtin_mul_overflow(n, static_cast<int64_t>(dtype_size(dtype_)), &bytes);
  if (!fits || static_cast<uint64_t>(bytes) > memory_limit()) {
    const std::string what =
        fmt::format("a {} tensor of shape {}", dtype_name(dtype_), shape_str(shape_));
    check_memory(checked_nbytes(shape_, dtype_, what), what);
  }
  storage_ = aligned_bytes(nbytes());
  data_ = storage_.get();
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  SAVE_CHECK(shape_numel(shape) == numel(), "cannot reshape {} to {}", shape_str(shape_),
             shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::vector<int64_t> Tensor::to_int64() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* p = ptr<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
  });
  return out;
}

std::vector<double> Tensor::to_double() const {
  std::vector<double> out(static_cast<size_t>(numel()));
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T* p = ptr<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

}  // namespace save
