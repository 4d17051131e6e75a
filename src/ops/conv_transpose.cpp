// ConvTranspose (1D/2D/3D, groups, dilations, strides, pads, auto_pad,
// output_padding, output_shape, optional bias); part of the conv family.
// Fast kernel: oneDNN deconvolution_forward, reusing the conv kernel wrapper.
#include <dnnl.hpp>

#include "ops/conv_common.hpp"
#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"
#include "ops/window.hpp"

namespace save {

namespace {

struct DeconvShapes {
  int64_t n = 0, c = 0, m = 0, group = 1;
  WindowGeom g;  // in = input sizes, out = output sizes, pads as resolved
};

DeconvShapes deconv_shapes(const Node& node, const TensorInfo& x, const TensorInfo& w,
                           const TensorInfo* b) {
  const Attributes& a = node.attrs;
  SAVE_NODE_CHECK(x.shape.size() >= 3 && x.shape.size() <= 5, node,
                  "X must have rank 3..5 (N, C, spatial...), got shape {}", shape_str(x.shape));
  SAVE_NODE_CHECK(w.shape.size() == x.shape.size(), node,
                  "W shape {} must have the rank of X shape {}", shape_str(w.shape),
                  shape_str(x.shape));
  DeconvShapes s;
  s.n = x.shape[0];
  s.c = x.shape[1];
  s.group = a.get_int("group", 1);
  SAVE_NODE_CHECK(s.group >= 1 && w.shape[0] == s.c && s.c % s.group == 0, node,
                  "X has {} channels, W shape {} and group {} do not match "
                  "(W must be [C, M/group, k...])",
                  s.c, shape_str(w.shape), s.group);
  s.m = w.shape[1] * s.group;
  if (b != nullptr) {
    SAVE_NODE_CHECK(b->shape.size() == 1 && b->shape[0] == s.m, node,
                    "B must have shape [{}], got {}", s.m, shape_str(b->shape));
  }
  const size_t n = x.shape.size() - 2;
  WindowGeom& g = s.g;
  g.nsp = n;
  g.in.assign(x.shape.begin() + 2, x.shape.end());
  g.kernel.assign(w.shape.begin() + 2, w.shape.end());
  if (a.has("kernel_shape")) {
    SAVE_NODE_CHECK(a.ints("kernel_shape") == g.kernel, node,
                    "kernel_shape does not match the weight's spatial shape");
  }
  g.stride = a.get_ints("strides", std::vector<int64_t>(n, 1));
  g.dilation = a.get_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = a.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  std::vector<int64_t> out_pad = a.get_ints("output_padding", std::vector<int64_t>(n, 0));
  std::vector<int64_t> out_shape = a.get_ints("output_shape");
  // Some exporters write the full [N, M, spatial...] output shape.
  if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  SAVE_NODE_CHECK(g.stride.size() == n && g.dilation.size() == n && pads.size() == 2 * n &&
                      out_pad.size() == n && (out_shape.empty() || out_shape.size() == n),
                  node,
                  "strides/dilations/output_padding/output_shape need {} values and "
                  "pads {}",
                  n, 2 * n);
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  SAVE_NODE_CHECK(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" ||
                      auto_pad == "SAME_LOWER",
                  node, "unknown auto_pad '{}'", auto_pad);
  g.pad_begin.resize(n);
  g.pad_end.resize(n);
  g.out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    SAVE_NODE_CHECK(g.stride[i] >= 1 && g.dilation[i] >= 1 && g.kernel[i] >= 1 && out_pad[i] >= 0,
                    node, "strides, dilations and kernel must be positive");
    const int64_t full = g.stride[i] * (g.in[i] - 1) + out_pad[i] + g.dk(i);
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      g.out[i] = !out_shape.empty() ? out_shape[i] : g.in[i] * g.stride[i];
      // total may be negative when output_shape asks for more than the full
      // output: the extra positions at the end get only the bias.
      const int64_t total = full - g.out[i];
      const int64_t half = floor_div(total, 2);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      g.pad_end[i] = total - g.pad_begin[i];
    } else {
      if (auto_pad == "NOTSET") {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[n + i];
      } else {
        g.pad_begin[i] = g.pad_end[i] = 0;
      }
      g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    SAVE_NODE_CHECK(g.out[i] >= 1, node, "output size {} on spatial axis {} is not positive",
                    g.out[i], i);
    // pad_end_eff is what oneDNN calls right padding (no output_padding).
  }
  g.pad_end_eff.resize(n);
  for (size_t i = 0; i < n; ++i)
    g.pad_end_eff[i] = g.stride[i] * (g.in[i] - 1) + g.dk(i) - g.pad_begin[i] - g.out[i];
  return s;
}

void deconv_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& w = ctx.input(1);
  SAVE_NODE_CHECK(is_float(x.dtype) && w.dtype == x.dtype, ctx.node,
                  "X and W must both be float32 or float64, got {} and {}", dtype_name(x.dtype),
                  dtype_name(w.dtype));
  DeconvShapes s = deconv_shapes(ctx.node, x, w, ctx.has_input(2) ? &ctx.input(2) : nullptr);
  Shape out{s.n, s.m};
  out.insert(out.end(), s.g.out.begin(), s.g.out.end());
  ctx.set_output(0, x.dtype, out);
}

template <typename T>
void deconv_ref_typed(const KernelContext& ctx) {
  const TensorView& xv = ctx.inputs[0];
  const TensorView& wv = ctx.inputs[1];
  TensorInfo xi{xv.dtype, Shape(xv.shape.begin(), xv.shape.end())};
  TensorInfo wi{wv.dtype, Shape(wv.shape.begin(), wv.shape.end())};
  DeconvShapes s = deconv_shapes(ctx.node, xi, wi, nullptr);
  const T* x = xv.ptr<const T>();
  const T* w = wv.ptr<const T>();
  const T* b = ctx.has_input(2) ? ctx.inputs[2].ptr<const T>() : nullptr;
  T* y = ctx.outputs[0].ptr<T>();
  Spatial3 sp(s.g);
  const int64_t cg = s.c / s.group, mg = s.m / s.group;
  const int64_t in_sz = sp.in[0] * sp.in[1] * sp.in[2];
  const int64_t out_sz = sp.out[0] * sp.out[1] * sp.out[2];
  const int64_t k_sz = sp.k[0] * sp.k[1] * sp.k[2];
  // Scatter form: every input element adds x * w to the outputs its kernel
  // window lands on (o = i * stride + k * dilation - pad_begin).
  std::vector<double> acc(static_cast<size_t>(out_sz));
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t m = 0; m < s.m; ++m) {
      const int64_t grp = m / mg, ml = m % mg;
      std::fill(acc.begin(), acc.end(), b ? static_cast<double>(b[m]) : 0.0);
      for (int64_t ci = 0; ci < cg; ++ci) {
        const int64_t c = grp * cg + ci;
        const T* xp = x + (n * s.c + c) * in_sz;
        const T* wp = w + (c * mg + ml) * k_sz;
        for (int64_t id = 0; id < sp.in[0]; ++id)
          for (int64_t ih = 0; ih < sp.in[1]; ++ih)
            for (int64_t iw = 0; iw < sp.in[2]; ++iw) {
              const double xval = static_cast<double>(xp[(id * sp.in[1] + ih) * sp.in[2] + iw]);
              for (int64_t kd = 0; kd < sp.k[0]; ++kd) {
                int64_t od = id * sp.s[0] + kd * sp.d[0] - sp.pb[0];
                if (od < 0 || od >= sp.out[0]) continue;
                for (int64_t kh = 0; kh < sp.k[1]; ++kh) {
                  int64_t oh = ih * sp.s[1] + kh * sp.d[1] - sp.pb[1];
                  if (oh < 0 || oh >= sp.out[1]) continue;
                  for (int64_t kw = 0; kw < sp.k[2]; ++kw) {
                    int64_t ow = iw * sp.s[2] + kw * sp.d[2] - sp.pb[2];
                    if (ow < 0 || ow >= sp.out[2]) continue;
                    acc[static_cast<size_t>((od * sp.out[1] + oh) * sp.out[2] + ow)] +=
                        xval * static_cast<double>(wp[(kd * sp.k[1] + kh) * sp.k[2] + kw]);
                  }
                }
              }
            }
      }
      T* yp = y + (n * s.m + m) * out_sz;
      for (int64_t i = 0; i < out_sz; ++i) yp[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
    }
  }
}

void deconv_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return deconv_ref_typed<double>(ctx);
  SAVE_NODE_CHECK(ctx.inputs[0].dtype == DType::kF32, ctx.node, "unsupported element type {}",
                  dtype_name(ctx.inputs[0].dtype));
  deconv_ref_typed<float>(ctx);
}

}  // namespace

std::unique_ptr<Kernel> make_deconv_kernel(const PrepareContext& ctx, bool fused) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  const TensorInfo& w = *ctx.inputs[1];
  if (x.dtype != DType::kF32 || w.dtype != DType::kF32) return nullptr;
  if (ctx.has_input(2) && ctx.inputs[2]->dtype != DType::kF32) return nullptr;
  DeconvShapes s = deconv_shapes(ctx.node, x, w, ctx.has_input(2) ? ctx.inputs[2] : nullptr);
  if (s.n == 0 || s.m == 0 || s.c == 0) return nullptr;
  memory::dims strides, dil, pl, pr;
  for (size_t i = 0; i < s.g.nsp; ++i) {
    // oneDNN cannot express negative padding (output_shape larger than the
    // full output).
    if (s.g.pad_begin[i] < 0 || s.g.pad_end_eff[i] < 0) return nullptr;
    strides.push_back(s.g.stride[i]);
    dil.push_back(s.g.dilation[i] - 1);
    pl.push_back(s.g.pad_begin[i]);
    pr.push_back(s.g.pad_end_eff[i]);
  }
  // oneDNN's logical weights are (g, o, i, k...); ONNX stores [C, M/G, k...],
  // i.e. (g, i, o, k...): describe that with explicit strides.
  const int64_t cg = s.c / s.group, mg = s.m / s.group;
  int64_t ksz = 1;
  memory::dims kdims(w.shape.begin() + 2, w.shape.end());
  memory::dims kstrides(kdims.size());
  for (size_t i = kdims.size(); i-- > 0;) {
    kstrides[i] = ksz;
    ksz *= kdims[i];
  }
  memory::dims wdims, wstrides;
  if (s.group > 1) {
    wdims = {s.group, mg, cg};
    wstrides = {cg * mg * ksz, ksz, mg * ksz};
  } else {
    wdims = {s.m, s.c};
    wstrides = {ksz, s.m * ksz};
  }
  wdims.insert(wdims.end(), kdims.begin(), kdims.end());
  wstrides.insert(wstrides.end(), kstrides.begin(), kstrides.end());
  memory::desc w_user(wdims, memory::data_type::f32, wstrides);
  Shape yshape{s.n, s.m};
  yshape.insert(yshape.end(), s.g.out.begin(), s.g.out.end());
  memory::desc x_plain = plain_desc(x.shape, DType::kF32);
  memory::desc y_plain = plain_desc(yshape, DType::kF32);
  auto fmt_any = memory::format_tag::any;
  memory::desc x_any(x_plain.dims(), memory::data_type::f32, fmt_any);
  memory::desc y_any(y_plain.dims(), memory::data_type::f32, fmt_any);
  memory::desc w_any(wdims, memory::data_type::f32, fmt_any);
  memory::desc b_md;
  if (ctx.has_input(2)) b_md = memory::desc({s.m}, memory::data_type::f32, memory::format_tag::a);
  DnnlFusion fusion;
  primitive_attr attr;
  if (fused) {
    if (!make_dnnl_fusion(ctx, yshape, yshape, true, fusion)) return nullptr;
    attr.set_post_ops(fusion.ops);
  }
  try {
    deconvolution_forward::desc d(prop_kind::forward_inference, algorithm::deconvolution_direct,
                                  x_any, w_any, b_md, y_any, strides, dil, pl, pr);
    deconvolution_forward::primitive_desc pd(d, attr, *ctx.engine);
    return std::make_unique<DnnlWeightedKernel>(
        *ctx.engine, *ctx.stream, deconvolution_forward(pd), pd.src_desc(), pd.weights_desc(),
        pd.dst_desc(), x_plain, w_user, y_plain, ctx.constants[1] != nullptr, ctx.has_input(2),
        fused ? &fusion : nullptr);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

namespace {

std::unique_ptr<Kernel> deconv_make_fast(const PrepareContext& ctx) {
  return make_deconv_kernel(ctx, false);
}

// Interval rule: linear in X (and in W), B exact: as Conv.
void deconv_interval(const IntervalContext& ctx) {
  const int factors[] = {0, 1};
  multilinear(ctx, factors, 2);
}

const OpDef kConvTranspose{"ConvTranspose",  deconv_infer, deconv_reference,
                           deconv_make_fast, false,        deconv_interval};

}  // namespace

void register_conv_transpose_ops(OpRegistry& r) {
  r.add(kConvTranspose);
}

}  // namespace save
