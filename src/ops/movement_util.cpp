#include "ops/movement_util.hpp"

#include <algorithm>
#include <cstring>

#include "ops/dnnl_util.hpp"

namespace save::mv {

std::vector<int64_t> view_ints(const TensorView& v) {
  std::vector<int64_t> out(static_cast<size_t>(v.numel()));
  dispatch_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* p = v.ptr<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
  });
  return out;
}

std::vector<double> view_doubles(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel()));
  dispatch_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* p = v.ptr<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

namespace {

// A permutation reduced to its essentials: size-1 axes dropped and output
// axes that are consecutive in the input merged. dims/strides are in output
// order; strides are the input's, in elements. Fewer, longer axes make both
// the plain loop and oneDNN's reorder faster.
struct Permutation {
  std::vector<int64_t> dims;
  std::vector<int64_t> strides;
};

Permutation simplify(std::span<const int64_t> in_shape, std::span<const int64_t> perm) {
  std::vector<int64_t> in_strides = shape_strides(in_shape);
  // Input axis -> index among the input's non-unit axes (-1 for unit axes).
  std::vector<int64_t> rank_of(in_shape.size(), -1);
  int64_t next = 0;
  for (size_t a = 0; a < in_shape.size(); ++a)
    if (in_shape[a] != 1) rank_of[a] = next++;
  Permutation p;
  int64_t prev = -2;
  for (int64_t a : perm) {
    int64_t ra = rank_of[static_cast<size_t>(a)];
    if (ra < 0) continue;
    if (ra == prev + 1) {
      p.dims.back() *= in_shape[static_cast<size_t>(a)];
      p.strides.back() = in_strides[static_cast<size_t>(a)];
    } else {
      p.dims.push_back(in_shape[static_cast<size_t>(a)]);
      p.strides.push_back(in_strides[static_cast<size_t>(a)]);
    }
    prev = ra;
  }
  return p;
}

template <size_t B>
inline void copy_fixed(std::byte* d, const std::byte* s) {
  std::memcpy(d, s, B);
}

// Copies the elements of one output slab (all axes but the first) with an
// odometer over the remaining axes.
template <typename Copy>
void permute_slab(const std::byte* src, std::byte* dst, const std::vector<int64_t>& dims,
                  const std::vector<int64_t>& byte_strides, size_t block, Copy copy) {
  size_t r = dims.size();
  if (r == 0) {
    copy(dst, src);
    return;
  }
  std::vector<int64_t> idx(r, 0);
  int64_t inner = dims[r - 1], inner_stride = byte_strides[r - 1];
  const std::byte* s = src;
  for (;;) {
    for (int64_t i = 0; i < inner; ++i) {
      copy(dst, s + i * inner_stride);
      dst += block;
    }
    size_t k = r - 1;
    for (;;) {
      if (k == 0) return;
      --k;
      s += byte_strides[k];
      if (++idx[k] < dims[k]) break;
      s -= byte_strides[k] * dims[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

void permute_copy(const void* src, void* dst, std::span<const int64_t> in_shape,
                  std::span<const int64_t> perm, size_t esz) {
  int64_t n = shape_numel(in_shape);
  if (n == 0) return;
  Permutation p = simplify(in_shape, perm);
  size_t block = esz;
  // The input's innermost axis staying innermost: copy whole rows.
  if (!p.dims.empty() && p.strides.back() == 1) {
    block *= static_cast<size_t>(p.dims.back());
    p.dims.pop_back();
    p.strides.pop_back();
  }
  auto* s = static_cast<const std::byte*>(src);
  auto* d = static_cast<std::byte*>(dst);
  if (p.dims.empty()) {
    std::memcpy(d, s, block);
    return;
  }
  std::vector<int64_t> bstrides(p.strides.size());
  for (size_t i = 0; i < p.strides.size(); ++i)
    bstrides[i] = p.strides[i] * static_cast<int64_t>(esz);
  // Split the first output axis across threads; each slab is contiguous in dst.
  int64_t d0 = p.dims[0], s0 = bstrides[0];
  std::vector<int64_t> rest_dims(p.dims.begin() + 1, p.dims.end());
  std::vector<int64_t> rest_strides(bstrides.begin() + 1, bstrides.end());
  size_t slab = block * static_cast<size_t>(shape_numel(rest_dims));
  auto run = [&](auto copy) {
#pragma omp parallel for if (static_cast <size_t>(n) * esz > (1u << 18))
    for (int64_t i = 0; i < d0; ++i)
      permute_slab(s + i * s0, d + static_cast<size_t>(i) * slab, rest_dims, rest_strides, block,
                   copy);
  };
  switch (block) {
    case 1:
      run(copy_fixed<1>);
      break;
    case 2:
      run(copy_fixed<2>);
      break;
    case 4:
      run(copy_fixed<4>);
      break;
    case 8:
      run(copy_fixed<8>);
      break;
    default:
      run([block](std::byte* dd, const std::byte* ss) { std::memcpy(dd, ss, block); });
  }
}

namespace {
class PermuteKernel : public Kernel {
 public:
  PermuteKernel(const dnnl::memory::desc& src, const dnnl::memory::desc& dst, dnnl::engine eng,
                dnnl::stream* stream)
      : src_md_(src), dst_md_(dst), eng_(std::move(eng)), stream_(stream) {
    prim_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng_, src_md_, eng_, dst_md_));
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory src(src_md_, eng_, ctx.inputs[0].data);
    dnnl::memory dst(dst_md_, eng_, ctx.outputs[0].data);
    prim_.execute(*stream_, src, dst);
    stream_->wait();
  }

 private:
  dnnl::memory::desc src_md_, dst_md_;
  dnnl::engine eng_;
  dnnl::stream* stream_;
  dnnl::reorder prim_;
};
}  // namespace

std::unique_ptr<Kernel> make_permute_kernel(const PrepareContext& ctx,
                                            std::span<const int64_t> in_shape,
                                            std::span<const int64_t> perm) {
  if (ctx.inputs.empty() || ctx.inputs[0] == nullptr || ctx.inputs[0]->dtype != DType::kF32)
    return nullptr;
  if (shape_numel(in_shape) == 0) return nullptr;
  Permutation p = simplify(in_shape, perm);
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.strides.push_back(1);
  }
  if (p.dims.size() > DNNL_MAX_NDIMS) return nullptr;
  dnnl::memory::dims dims(p.dims.begin(), p.dims.end());
  dnnl::memory::dims src_strides(p.strides.begin(), p.strides.end());
  dnnl::memory::dims dst_strides(dims.size(), 1);
  for (size_t i = dims.size() - 1; i > 0; --i) dst_strides[i - 1] = dst_strides[i] * dims[i];
  try {
    dnnl::memory::desc src(dims, dnnl::memory::data_type::f32, src_strides);
    dnnl::memory::desc dst(dims, dnnl::memory::data_type::f32, dst_strides);
    return std::make_unique<PermuteKernel>(src, dst, *ctx.engine, ctx.stream);
  } catch (const dnnl::error&) {
    return nullptr;  // oneDNN declined this layout: the reference runs.
  }
}

void copy_rows(const std::byte* src, size_t src_stride, std::byte* dst, size_t dst_stride,
               size_t row_bytes, int64_t outer) {
  if (row_bytes == 0) return;
#pragma omp parallel for if (static_cast <size_t>(outer) * row_bytes > (1u << 18) && outer > 1)
  for (int64_t i = 0; i < outer; ++i)
    std::memcpy(dst + static_cast<size_t>(i) * dst_stride,
                src + static_cast<size_t>(i) * src_stride, row_bytes);
}

}  // namespace save::mv
