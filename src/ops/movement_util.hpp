// Helpers shared by the shape, data-movement and resize op families: reading small integer inputs
// at run time, and the permuted copy used by Transpose, DepthToSpace and SpaceToDepth (a plain
// reference loop plus a oneDNN reorder as the fast kernel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "ops/op.hpp"

namespace save::mv {

// Elements of an integer (or any numeric) view as int64 / double.
std::vector<int64_t> view_ints(const TensorView& v);
std::vector<double> view_doubles(const TensorView& v);

// True when input i is given and not an empty tensor (ONNX models often pass
// an empty constant for "not given", e.g. Resize's roi and scales).
inline bool nonempty(const InferContext& ctx, size_t i) {
  return ctx.has_input(i) && shape_numel(ctx.input(i).shape) > 0;
}
inline bool nonempty(const KernelContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.inputs[i].numel() > 0;
}

// Copies `src` (row-major, shape `in_shape`, elements of `esz` bytes) to `dst`
// with its axes permuted: dst axis k is src axis perm[k].
void permute_copy(const void* src, void* dst, std::span<const int64_t> in_shape,
                  std::span<const int64_t> perm, size_t esz);

// A oneDNN reorder doing permute_copy for float32 data; nullptr when oneDNN
// cannot (rank above its limit, or empty tensors).
std::unique_ptr<Kernel> make_permute_kernel(const PrepareContext& ctx,
                                            std::span<const int64_t> in_shape,
                                            std::span<const int64_t> perm);

// Copies byte blocks: `outer` rows of `row_bytes` each, from src at stride
// src_stride to dst at stride dst_stride (bytes). Parallel when large.
void copy_rows(const std::byte* src, size_t src_stride, std::byte* dst, size_t dst_stride,
               size_t row_bytes, int64_t outer);

}  // namespace save::mv
