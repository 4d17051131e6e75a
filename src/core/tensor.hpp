// Tensor: an element type, a shape and bytes. Storage is 64-byte aligned and
// shared between copies (copying a Tensor is cheap; use clone() for a deep
// copy). TensorView is the non-owning form kernels see.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.hpp"

namespace save {

using Shape = std::vector<int64_t>;

int64_t shape_numel(std::span<const int64_t> shape);
std::string shape_str(std::span<const int64_t> shape);
// Row-major strides in elements.
std::vector<int64_t> shape_strides(std::span<const int64_t> shape);

// What a kernel reads or writes: element type, shape and a pointer. The
// shape storage is owned by the plan (or by a Tensor) and outlives the view.
struct TensorView {
  DType dtype = DType::kUndefined;
  std::span<const int64_t> shape;
  void* data = nullptr;

  bool present() const { return data != nullptr || dtype != DType::kUndefined; }
  size_t rank() const { return shape.size(); }
  int64_t dim(size_t i) const { return shape[i]; }
  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  template <typename T>
  T* ptr() const {
    return static_cast<T*>(data);
  }
  template <typename T>
  std::span<T> values() const {
    return {static_cast<T*>(data), static_cast<size_t>(numel())};
  }
};

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage.
  Tensor(DType dtype, Shape shape);

  template <typename T>
  static Tensor from(Shape shape, std::span<const T> values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(T));
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) {
    Tensor t(DTypeOf<T>::value, {});
    *t.ptr<T>() = v;
    return t;
  }

  // A tensor over memory it does not own (a NumPy array's buffer, no copy):
  // `owner` (may be empty) keeps the memory alive; with an empty one the
  // caller must keep it alive as long as any copy of the tensor.
  static Tensor borrow(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = std::move(shape);
    t.storage_ = std::shared_ptr<std::byte[]>(std::move(owner), static_cast<std::byte*>(data));
    t.data_ = data;
    return t;
  }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* ptr() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* ptr() const {
    return static_cast<const T*>(data_);
  }
  template <typename T>
  std::span<const T> values() const {
    return {ptr<T>(), static_cast<size_t>(numel())};
  }
  TensorView view() const { return {dtype_, shape_, data_}; }
  Tensor clone() const;
  // Same bytes, another shape of the same element count (shares storage).
  Tensor reshaped(Shape shape) const;
  // Reads integer elements of any integer dtype as int64 (for shape inputs).
  std::vector<int64_t> to_int64() const;
  // Reads elements of any numeric dtype as double.
  std::vector<double> to_double() const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  std::shared_ptr<std::byte[]> storage_;
  void* data_ = nullptr;
};

// Aligned, zero-filled byte buffer (64-byte alignment for AVX-512 and oneDNN).
std::shared_ptr<std::byte[]> aligned_bytes(size_t n);

}  // namespace save
