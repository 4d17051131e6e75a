// Small helpers for fast kernels built on oneDNN. Activations stay in plain
// row-major layout (what the rest of the engine, the checks and the injector
// see); a kernel may repack constant weights into oneDNN's preferred layout.
#pragma once

#include <dnnl.hpp>
#include <span>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace save {

inline dnnl::memory::data_type to_dnnl(DType t) {
  switch (t) {
    case DType::kF32: return dnnl::memory::data_type::f32;
    case DType::kI32: return dnnl::memory::data_type::s32;
    case DType::kI8: return dnnl::memory::data_type::s8;
    case DType::kU8: return dnnl::memory::data_type::u8;
    default: return dnnl::memory::data_type::undef;
  }
}

// Row-major (plain) format tag for a rank, up to 6.
inline dnnl::memory::format_tag plain_tag(size_t rank) {
  using ft = dnnl::memory::format_tag;
  switch (rank) {
    case 0:
    case 1: return ft::a;
    case 2: return ft::ab;
    case 3: return ft::abc;
    case 4: return ft::abcd;
    case 5: return ft::abcde;
    case 6: return ft::abcdef;
    default: fail("oneDNN supports tensors of rank up to 6, got {}", rank);
  }
}

inline dnnl::memory::desc plain_desc(std::span<const int64_t> shape, DType t) {
  dnnl::memory::dims dims(shape.begin(), shape.end());
  if (dims.empty()) dims.push_back(1);
  return dnnl::memory::desc(dims, to_dnnl(t), plain_tag(dims.size()));
}

}  // namespace save
