// Pooling: AveragePool, MaxPool (with the optional Indices output),
// GlobalAveragePool, GlobalMaxPool and LRN.
//
// Fast kernels: oneDNN pooling_v2_forward (handles dilation) and lrn_forward,
// used only where their semantics match ONNX exactly; otherwise they decline
// and the reference runs:
//  - MaxPool with the Indices output requested;
//  - AveragePool with count_include_pad where ceil_mode adds a partial window
//    (ONNX Runtime then divides by the window clipped to the padded input,
//    oneDNN by the full kernel);
//  - LRN with an even size (oneDNN's window is then one channel narrower).
#include <cmath>
#include <dnnl.hpp>
#include <limits>

#include "ops/conv_common.hpp"
#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"
#include "ops/window.hpp"

namespace save {

namespace {

bool output_wanted(const PrepareContext& ctx, size_t i) {
  return i < ctx.outputs.size() && ctx.outputs[i] != nullptr &&
         ctx.outputs[i]->dtype != DType::kUndefined;
}

// A oneDNN primitive with one plain src and one plain dst.
class DnnlSrcDstKernel : public Kernel {
 public:
  DnnlSrcDstKernel(dnnl::engine& eng, dnnl::stream& strm, dnnl::primitive prim,
                   dnnl::memory::desc src, dnnl::memory::desc dst)
      : eng_(eng), strm_(strm), prim_(std::move(prim)), src_(src), dst_(dst) {}
  void run(const KernelContext& ctx) override {
    dnnl::memory s(src_, eng_, ctx.inputs[0].data), d(dst_, eng_, ctx.outputs[0].data);
    prim_.execute(strm_, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, d}});
    strm_.wait();
  }

 private:
  dnnl::engine& eng_;
  dnnl::stream& strm_;
  dnnl::primitive prim_;
  dnnl::memory::desc src_, dst_;
};

void check_pool_input(const Node& node, const TensorInfo& x) {
  SAVE_NODE_CHECK(x.shape.size() >= 3 && x.shape.size() <= 5, node,
                  "X must have rank 3..5 (N, C, spatial...), got shape {}", shape_str(x.shape));
}

WindowGeom pool_geom(const Node& node, std::span<const int64_t> xshape) {
  std::vector<int64_t> in(xshape.begin() + 2, xshape.end());
  return resolve_window(node, in, {}, true);
}

// ---- AveragePool / MaxPool ----

void pool_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  check_pool_input(ctx.node, x);
  const bool is_max = ctx.node.op == "MaxPool";
  SAVE_NODE_CHECK(is_float(x.dtype) || (is_max && (x.dtype == DType::kI8 || x.dtype == DType::kU8)),
                  ctx.node, "unsupported element type {}", dtype_name(x.dtype));
  SAVE_NODE_CHECK(
      is_max || !ctx.node.attrs.has("dilations") ||
          ctx.node.attrs.get_ints("dilations") == std::vector<int64_t>(x.shape.size() - 2, 1) ||
          ctx.opset >= 19,
      ctx.node, "dilations need opset 19");
  WindowGeom g = pool_geom(ctx.node, x.shape);
  Shape out{x.shape[0], x.shape[1]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  ctx.set_output(0, x.dtype, out);
  if (is_max && ctx.outputs.size() > 1) ctx.set_output(1, DType::kI64, out);
}

template <typename T>
void pool_ref_typed(const KernelContext& ctx, bool is_max) {
  const TensorView& xv = ctx.inputs[0];
  WindowGeom g = pool_geom(ctx.node, xv.shape);
  Spatial3 sp(g);
  // The padded extent each axis may count (count_include_pad): explicit pads
  // count, the extra region added by ceil_mode does not.
  int64_t lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
  const size_t off = 3 - g.nsp;
  for (size_t i = 0; i < g.nsp; ++i) {
    lo[off + i] = -g.pad_begin[i];
    hi[off + i] = g.in[i] + g.pad_end[i];
  }
  const bool include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  const bool col_major = ctx.attrs().get_int("storage_order", 0) != 0;
  const int64_t nc = xv.dim(0) * xv.dim(1);
  const int64_t in_sz = sp.in[0] * sp.in[1] * sp.in[2];
  const int64_t out_sz = sp.out[0] * sp.out[1] * sp.out[2];
  const T* x = xv.ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  int64_t* ind = ctx.outputs.size() > 1 ? ctx.outputs[1].ptr<int64_t>() : nullptr;
  for (int64_t p = 0; p < nc; ++p) {
    const T* xp = x + p * in_sz;
    for (int64_t od = 0; od < sp.out[0]; ++od)
      for (int64_t oh = 0; oh < sp.out[1]; ++oh)
        for (int64_t ow = 0; ow < sp.out[2]; ++ow) {
          double sum = 0;
          int64_t count = 0;
          T best = std::numeric_limits<T>::lowest();
          int64_t best_d = -1, best_h = -1, best_w = -1;
          for (int64_t kd = 0; kd < sp.k[0]; ++kd) {
            const int64_t id = od * sp.s[0] - sp.pb[0] + kd * sp.d[0];
            for (int64_t kh = 0; kh < sp.k[1]; ++kh) {
              const int64_t ih = oh * sp.s[1] - sp.pb[1] + kh * sp.d[1];
              for (int64_t kw = 0; kw < sp.k[2]; ++kw) {
                const int64_t iw = ow * sp.s[2] - sp.pb[2] + kw * sp.d[2];
                const bool inside = id >= 0 && id < sp.in[0] && ih >= 0 && ih < sp.in[1] &&
                                    iw >= 0 && iw < sp.in[2];
                const bool in_padded = id >= lo[0] && id < hi[0] && ih >= lo[1] && ih < hi[1] &&
                                       iw >= lo[2] && iw < hi[2];
                if (include_pad ? in_padded : inside) ++count;
                if (!inside) continue;
                const T v = xp[(id * sp.in[1] + ih) * sp.in[2] + iw];
                sum += static_cast<double>(v);
                if (best_d < 0 || v > best) {
                  best = v;
                  best_d = id;
                  best_h = ih;
                  best_w = iw;
                }
              }
            }
          }
          const int64_t o = (od * sp.out[1] + oh) * sp.out[2] + ow;
          if (is_max) {
            y[p * out_sz + o] = best;
            if (ind != nullptr) {
              // Flat index into X; storage_order=1 numbers the spatial
              // positions column-major.
              int64_t s = col_major ? (best_w * sp.in[1] + best_h) * sp.in[0] + best_d
                                    : (best_d * sp.in[1] + best_h) * sp.in[2] + best_w;
              ind[p * out_sz + o] = p * in_sz + s;
            }
          } else {
            y[p * out_sz + o] = static_cast<T>(count > 0 ? sum / static_cast<double>(count) : 0.0);
          }
        }
  }
}

void pool_reference(const KernelContext& ctx) {
  const bool is_max = ctx.node.op == "MaxPool";
  switch (ctx.inputs[0].dtype) {
    case DType::kF32:
      return pool_ref_typed<float>(ctx, is_max);
    case DType::kF64:
      return pool_ref_typed<double>(ctx, is_max);
    case DType::kI8:
      return pool_ref_typed<int8_t>(ctx, is_max);
    case DType::kU8:
      return pool_ref_typed<uint8_t>(ctx, is_max);
    default:
      node_fail(ctx.node, "unsupported element type {}", dtype_name(ctx.inputs[0].dtype));
  }
}

std::unique_ptr<Kernel> make_pool_kernel(const PrepareContext& ctx, dnnl::algorithm alg,
                                         const WindowGeom& g) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  const TensorInfo& y = *ctx.outputs[0];
  memory::dims strides, kernel, dil, pl, pr;
  for (size_t i = 0; i < g.nsp; ++i) {
    strides.push_back(g.stride[i]);
    kernel.push_back(g.kernel[i]);
    dil.push_back(g.dilation[i] - 1);
    pl.push_back(g.pad_begin[i]);
    pr.push_back(g.pad_end_eff[i]);
  }
  memory::desc src = plain_desc(x.shape, DType::kF32), dst = plain_desc(y.shape, DType::kF32);
  try {
    pooling_v2_forward::desc d(prop_kind::forward_inference, alg, src, dst, strides, kernel, dil,
                               pl, pr);
    pooling_v2_forward::primitive_desc pd(d, *ctx.engine);
    return std::make_unique<DnnlSrcDstKernel>(*ctx.engine, *ctx.stream, pooling_v2_forward(pd), src,
                                              dst);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

std::unique_ptr<Kernel> pool_make_fast(const PrepareContext& ctx) {
  const TensorInfo& x = *ctx.inputs[0];
  if (x.dtype != DType::kF32 || shape_numel(x.shape) == 0) return nullptr;
  const bool is_max = ctx.node.op == "MaxPool";
  if (is_max && output_wanted(ctx, 1)) return nullptr;
  WindowGeom g = pool_geom(ctx.node, x.shape);
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (!is_max) {
    if (ctx.attrs().get_int("count_include_pad", 0) != 0) {
      for (size_t i = 0; i < g.nsp; ++i)
        if (g.pad_end_eff[i] != g.pad_end[i]) return nullptr;
      alg = dnnl::algorithm::pooling_avg_include_padding;
    } else {
      alg = dnnl::algorithm::pooling_avg_exclude_padding;
    }
  }
  return make_pool_kernel(ctx, alg, g);
}

// ---- GlobalAveragePool / GlobalMaxPool ----

void global_pool_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 3, ctx.node, "X must have rank >= 3, got shape {}",
                  shape_str(x.shape));
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  Shape out(x.shape.size(), 1);
  out[0] = x.shape[0];
  out[1] = x.shape[1];
  ctx.set_output(0, x.dtype, out);
}

template <typename T>
void global_pool_ref_typed(const KernelContext& ctx, bool is_max) {
  const TensorView& xv = ctx.inputs[0];
  const int64_t nc = xv.dim(0) * xv.dim(1);
  const int64_t sz = nc == 0 ? 0 : xv.numel() / nc;
  const T* x = xv.ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  for (int64_t p = 0; p < nc; ++p) {
    const T* xp = x + p * sz;
    if (is_max) {
      T m = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < sz; ++i) m = xp[i] > m ? xp[i] : m;
      y[p] = m;
    } else {
      double s = 0;
      for (int64_t i = 0; i < sz; ++i) s += static_cast<double>(xp[i]);
      y[p] = static_cast<T>(s / static_cast<double>(sz));
    }
  }
}

void global_pool_reference(const KernelContext& ctx) {
  const bool is_max = ctx.node.op == "GlobalMaxPool";
  if (ctx.inputs[0].dtype == DType::kF64) return global_pool_ref_typed<double>(ctx, is_max);
  global_pool_ref_typed<float>(ctx, is_max);
}

std::unique_ptr<Kernel> global_pool_make_fast(const PrepareContext& ctx) {
  const TensorInfo& x = *ctx.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.size() > 5 || shape_numel(x.shape) == 0) return nullptr;
  // A pool whose window is the whole spatial extent.
  WindowGeom g;
  g.nsp = x.shape.size() - 2;
  g.kernel.assign(x.shape.begin() + 2, x.shape.end());
  g.stride.assign(g.nsp, 1);
  g.dilation.assign(g.nsp, 1);
  g.pad_begin.assign(g.nsp, 0);
  g.pad_end_eff.assign(g.nsp, 0);
  return make_pool_kernel(ctx,
                          ctx.node.op == "GlobalMaxPool"
                              ? dnnl::algorithm::pooling_max
                              : dnnl::algorithm::pooling_avg_exclude_padding,
                          g);
}

// ---- LRN ----

void lrn_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 3, ctx.node, "X must have rank >= 3, got shape {}",
                  shape_str(x.shape));
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  SAVE_NODE_CHECK(ctx.node.attrs.int_("size") >= 1, ctx.node, "size must be positive");
  ctx.set_output(0, x.dtype, x.shape);
}

template <typename T>
void lrn_ref_typed(const KernelContext& ctx) {
  const TensorView& xv = ctx.inputs[0];
  const Attributes& a = ctx.attrs();
  const int64_t size = a.int_("size");
  const double alpha = a.get_float("alpha", 1e-4f), beta = a.get_float("beta", 0.75f),
               bias = a.get_float("bias", 1.0f);
  const int64_t n = xv.dim(0), c = xv.dim(1);
  const int64_t sz = xv.numel() / std::max<int64_t>(1, n * c);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const T* x = xv.ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < sz; ++i) {
        double sq = 0;
        for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
          const double v = static_cast<double>(x[(b * c + k) * sz + i]);
          sq += v * v;
        }
        const int64_t o = (b * c + ch) * sz + i;
        y[o] = static_cast<T>(static_cast<double>(x[o]) /
                              std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
      }
}

void lrn_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return lrn_ref_typed<double>(ctx);
  lrn_ref_typed<float>(ctx);
}

std::unique_ptr<Kernel> lrn_make_fast(const PrepareContext& ctx) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  const Attributes& a = ctx.attrs();
  const int64_t size = a.int_("size");
  if (x.dtype != DType::kF32 || x.shape.size() > 5 || size % 2 == 0 || shape_numel(x.shape) == 0)
    return nullptr;
  memory::desc md = plain_desc(x.shape, DType::kF32);
  try {
    lrn_forward::desc d(prop_kind::forward_inference, algorithm::lrn_across_channels, md, size,
                        a.get_float("alpha", 1e-4f), a.get_float("beta", 0.75f),
                        a.get_float("bias", 1.0f));
    lrn_forward::primitive_desc pd(d, *ctx.engine);
    return std::make_unique<DnnlSrcDstKernel>(*ctx.engine, *ctx.stream, lrn_forward(pd), md, md);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Interval rules: averages (non-negative weights) and maxima are
// non-decreasing in every element (averages add the rounding allowance of a
// sum: interval_sum); a max only selects (no rounding). The
// indices output of MaxPool is not monotone: the rule leaves it unknown.
const OpDef kAveragePool{"AveragePool",  pool_infer, pool_reference,
                         pool_make_fast, false,      interval_sum};
const OpDef kMaxPool{"MaxPool", pool_infer, pool_reference, pool_make_fast, false, interval_copy};
const OpDef kGlobalAveragePool{
    "GlobalAveragePool", global_pool_infer, global_pool_reference, global_pool_make_fast, false,
    interval_sum};
const OpDef kGlobalMaxPool{
    "GlobalMaxPool", global_pool_infer, global_pool_reference, global_pool_make_fast,
    false,           interval_copy};
const OpDef kLRN{"LRN", lrn_infer, lrn_reference, lrn_make_fast};

}  // namespace

void register_pool_ops(OpRegistry& r) {
  r.add(kAveragePool);
  r.add(kMaxPool);
  r.add(kGlobalAveragePool);
  r.add(kGlobalMaxPool);
  r.add(kLRN);
}

}  // namespace save
