// Normalisation: BatchNormalization (inference and training_mode forms),
// InstanceNormalization, GroupNormalization, LayerNormalization.
//
// Fast kernels (float32): oneDNN batch_normalization_forward with global
// statistics for BatchNormalization; the same primitive computing its own
// statistics, once per sample, for InstanceNormalization (per-sample batch
// statistics are instance statistics); layer_normalization_forward on the
// [outer, inner] view for LayerNormalization. GroupNormalization and
// training-mode BatchNormalization run the reference.
#include <cmath>
#include <dnnl.hpp>

#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using dnnl::memory;

bool output_wanted(const PrepareContext& ctx, size_t i) {
  return i < ctx.outputs.size() && ctx.outputs[i] != nullptr &&
         ctx.outputs[i]->dtype != DType::kUndefined;
}

bool output_present(const KernelContext& ctx, size_t i) {
  return i < ctx.outputs.size() && ctx.outputs[i].data != nullptr;
}

void check_channel_param(const InferContext& ctx, size_t i, int64_t c, const char* what) {
  const TensorInfo& t = ctx.input(i);
  SAVE_NODE_CHECK(t.shape.size() == 1 && t.shape[0] == c && t.dtype == ctx.input(0).dtype, ctx.node,
                  "{} must be a {} vector of shape [{}], got {} {}", what,
                  dtype_name(ctx.input(0).dtype), c, dtype_name(t.dtype), shape_str(t.shape));
}

// N, C and the per-(n, c) spatial size of an [N, C, ...] tensor.
struct NCS {
  int64_t n, c, s;
};
NCS ncs(std::span<const int64_t> shape) {
  NCS r{shape[0], shape.size() > 1 ? shape[1] : 1, 1};
  for (size_t i = 2; i < shape.size(); ++i) r.s *= shape[i];
  return r;
}

// A oneDNN normalisation primitive; `args` maps DNNL_ARG_* to where each
// memory lives: input i (>= 0) or output -(i + 1).
class DnnlNormKernel : public Kernel {
 public:
  struct Arg {
    int dnnl_arg;
    int slot;
    memory::desc md;
  };
  DnnlNormKernel(dnnl::engine& eng, dnnl::stream& strm, dnnl::primitive prim, std::vector<Arg> args)
      : eng_(eng), strm_(strm), prim_(std::move(prim)), args_(std::move(args)) {}

  void run(const KernelContext& ctx) override { execute(ctx, 0, 0); }

 protected:
  // Runs once with src/dst offset by `data_off` bytes (instance norm runs
  // the primitive per sample).
  void execute(const KernelContext& ctx, size_t data_off, int) {
    std::unordered_map<int, memory> m;
    for (const Arg& a : args_) {
      void* p = a.slot >= 0 ? ctx.inputs[static_cast<size_t>(a.slot)].data
                            : ctx.outputs[static_cast<size_t>(-a.slot - 1)].data;
      if (a.dnnl_arg == DNNL_ARG_SRC || a.dnnl_arg == DNNL_ARG_DST)
        p = static_cast<std::byte*>(p) + data_off;
      m.emplace(a.dnnl_arg, memory(a.md, eng_, p));
    }
    prim_.execute(strm_, m);
    strm_.wait();
  }
  dnnl::engine& eng_;
  dnnl::stream& strm_;
  dnnl::primitive prim_;
  std::vector<Arg> args_;
};

// ---- BatchNormalization ----

bool bn_training(const Attributes& a, int64_t opset) {
  return opset >= 14 && a.get_int("training_mode", 0) != 0;
}

void bn_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 2, ctx.node, "X must have rank >= 2, got shape {}",
                  shape_str(x.shape));
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  const int64_t c = x.shape[1];
  check_channel_param(ctx, 1, c, "scale");
  check_channel_param(ctx, 2, c, "B");
  check_channel_param(ctx, 3, c, "input_mean");
  check_channel_param(ctx, 4, c, "input_var");
  ctx.set_output(0, x.dtype, x.shape);
  // running_mean / running_var (and the saved statistics of opsets < 14).
  for (size_t i = 1; i < ctx.outputs.size(); ++i) ctx.set_output(i, x.dtype, {c});
}

template <typename T>
void bn_ref_typed(const KernelContext& ctx) {
  const TensorView& xv = ctx.inputs[0];
  const NCS d = ncs(xv.shape);
  const T* x = xv.ptr<const T>();
  const T* scale = ctx.inputs[1].ptr<const T>();
  const T* bias = ctx.inputs[2].ptr<const T>();
  const T* mean_in = ctx.inputs[3].ptr<const T>();
  const T* var_in = ctx.inputs[4].ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  const double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  const bool training = bn_training(ctx.attrs(), ctx.opset);
  const double momentum = ctx.attrs().get_float("momentum", 0.9f);
  for (int64_t c = 0; c < d.c; ++c) {
    double mean = static_cast<double>(mean_in[c]), var = static_cast<double>(var_in[c]);
    if (training) {
      // Batch statistics over N and the spatial axes (population variance).
      double s = 0, sq = 0;
      for (int64_t n = 0; n < d.n; ++n)
        for (int64_t i = 0; i < d.s; ++i) s += static_cast<double>(x[(n * d.c + c) * d.s + i]);
      const double cnt = static_cast<double>(d.n * d.s);
      mean = s / cnt;
      for (int64_t n = 0; n < d.n; ++n)
        for (int64_t i = 0; i < d.s; ++i) {
          const double v = static_cast<double>(x[(n * d.c + c) * d.s + i]) - mean;
          sq += v * v;
        }
      var = sq / cnt;
      if (output_present(ctx, 1))
        ctx.outputs[1].ptr<T>()[c] =
            static_cast<T>(static_cast<double>(mean_in[c]) * momentum + mean * (1 - momentum));
      if (output_present(ctx, 2))
        ctx.outputs[2].ptr<T>()[c] =
            static_cast<T>(static_cast<double>(var_in[c]) * momentum + var * (1 - momentum));
    } else {
      // Inference: the running statistics pass through unchanged.
      if (output_present(ctx, 1)) ctx.outputs[1].ptr<T>()[c] = mean_in[c];
      if (output_present(ctx, 2)) ctx.outputs[2].ptr<T>()[c] = var_in[c];
    }
    if (output_present(ctx, 3)) ctx.outputs[3].ptr<T>()[c] = static_cast<T>(mean);
    if (output_present(ctx, 4)) ctx.outputs[4].ptr<T>()[c] = static_cast<T>(var);
    const double a = static_cast<double>(scale[c]) / std::sqrt(var + eps);
    const double b = static_cast<double>(bias[c]) - mean * a;
    for (int64_t n = 0; n < d.n; ++n) {
      const T* xp = x + (n * d.c + c) * d.s;
      T* yp = y + (n * d.c + c) * d.s;
      for (int64_t i = 0; i < d.s; ++i) yp[i] = static_cast<T>(static_cast<double>(xp[i]) * a + b);
    }
  }
}

void bn_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return bn_ref_typed<double>(ctx);
  bn_ref_typed<float>(ctx);
}

std::unique_ptr<Kernel> bn_make_fast(const PrepareContext& ctx) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.size() > 5 || shape_numel(x.shape) == 0) return nullptr;
  if (bn_training(ctx.attrs(), ctx.opset)) return nullptr;
  for (size_t i = 1; i < ctx.outputs.size(); ++i)
    if (output_wanted(ctx, i)) return nullptr;
  memory::desc md = plain_desc(x.shape, DType::kF32);
  memory::desc cmd({x.shape[1]}, memory::data_type::f32, memory::format_tag::a);
  try {
    batch_normalization_forward::desc d(
        prop_kind::forward_inference, md, ctx.attrs().get_float("epsilon", 1e-5f),
        normalization_flags::use_global_stats | normalization_flags::use_scale |
            normalization_flags::use_shift);
    batch_normalization_forward::primitive_desc pd(d, *ctx.engine);
    return std::make_unique<DnnlNormKernel>(
        *ctx.engine, *ctx.stream, batch_normalization_forward(pd),
        std::vector<DnnlNormKernel::Arg>{{DNNL_ARG_SRC, 0, md},
                                         {DNNL_ARG_SCALE, 1, cmd},
                                         {DNNL_ARG_SHIFT, 2, cmd},
                                         {DNNL_ARG_MEAN, 3, cmd},
                                         {DNNL_ARG_VARIANCE, 4, cmd},
                                         {DNNL_ARG_DST, -1, md}});
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// ---- InstanceNormalization ----

void instnorm_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 3, ctx.node, "X must have rank >= 3, got shape {}",
                  shape_str(x.shape));
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  check_channel_param(ctx, 1, x.shape[1], "scale");
  check_channel_param(ctx, 2, x.shape[1], "B");
  ctx.set_output(0, x.dtype, x.shape);
}

// Normalises `rows` independent rows of `len` elements each with
// per-row scale/bias (scale_of(row), bias_of(row)).
template <typename T, typename S, typename B>
void normalize_rows(const T* x, T* y, int64_t rows, int64_t len, double eps, S scale_of,
                    B bias_of) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xp = x + r * len;
    T* yp = y + r * len;
    double s = 0, sq = 0;
    for (int64_t i = 0; i < len; ++i) s += static_cast<double>(xp[i]);
    const double mean = s / static_cast<double>(len);
    for (int64_t i = 0; i < len; ++i) {
      const double v = static_cast<double>(xp[i]) - mean;
      sq += v * v;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
    for (int64_t i = 0; i < len; ++i)
      yp[i] = static_cast<T>((static_cast<double>(xp[i]) - mean) * inv * scale_of(r, i) +
                             bias_of(r, i));
  }
}

template <typename T>
void instnorm_ref_typed(const KernelContext& ctx) {
  const NCS d = ncs(ctx.inputs[0].shape);
  const T* scale = ctx.inputs[1].ptr<const T>();
  const T* bias = ctx.inputs[2].ptr<const T>();
  normalize_rows(
      ctx.inputs[0].ptr<const T>(), ctx.outputs[0].ptr<T>(), d.n * d.c, d.s,
      ctx.attrs().get_float("epsilon", 1e-5f),
      [&](int64_t r, int64_t) { return static_cast<double>(scale[r % d.c]); },
      [&](int64_t r, int64_t) { return static_cast<double>(bias[r % d.c]); });
}

void instnorm_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return instnorm_ref_typed<double>(ctx);
  instnorm_ref_typed<float>(ctx);
}

class DnnlInstanceNormKernel : public DnnlNormKernel {
 public:
  DnnlInstanceNormKernel(dnnl::engine& eng, dnnl::stream& strm, dnnl::primitive prim,
                         std::vector<Arg> args, int64_t n, size_t sample_bytes)
      : DnnlNormKernel(eng, strm, std::move(prim), std::move(args)),
        n_(n),
        sample_bytes_(sample_bytes) {}
  void run(const KernelContext& ctx) override {
    for (int64_t i = 0; i < n_; ++i) execute(ctx, static_cast<size_t>(i) * sample_bytes_, 0);
  }

 private:
  int64_t n_;
  size_t sample_bytes_;
};

std::unique_ptr<Kernel> instnorm_make_fast(const PrepareContext& ctx) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.size() > 5 || shape_numel(x.shape) == 0) return nullptr;
  Shape one = x.shape;
  one[0] = 1;
  memory::desc md = plain_desc(one, DType::kF32);
  memory::desc cmd({x.shape[1]}, memory::data_type::f32, memory::format_tag::a);
  try {
    // Without use_global_stats the primitive computes mean and variance over
    // N and the spatial axes: with N = 1, those are the instance statistics.
    batch_normalization_forward::desc d(
        prop_kind::forward_inference, md, ctx.attrs().get_float("epsilon", 1e-5f),
        normalization_flags::use_scale | normalization_flags::use_shift);
    batch_normalization_forward::primitive_desc pd(d, *ctx.engine);
    return std::make_unique<DnnlInstanceNormKernel>(
        *ctx.engine, *ctx.stream, batch_normalization_forward(pd),
        std::vector<DnnlNormKernel::Arg>{{DNNL_ARG_SRC, 0, md},
                                         {DNNL_ARG_SCALE, 1, cmd},
                                         {DNNL_ARG_SHIFT, 2, cmd},
                                         {DNNL_ARG_DST, -1, md}},
        x.shape[0], static_cast<size_t>(shape_numel(one)) * sizeof(float));
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// ---- GroupNormalization ----

void groupnorm_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 2, ctx.node, "X must have rank >= 2, got shape {}",
                  shape_str(x.shape));
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  const int64_t g = ctx.node.attrs.int_("num_groups");
  const int64_t c = x.shape[1];
  SAVE_NODE_CHECK(g >= 1 && c % g == 0, ctx.node, "{} channels do not split into {} groups", c, g);
  // Opset 18 has one scale/bias per group, opset 21 one per channel.
  for (size_t i = 1; i <= 2; ++i) {
    const TensorInfo& t = ctx.input(i);
    SAVE_NODE_CHECK(t.shape.size() == 1 && (t.shape[0] == g || t.shape[0] == c), ctx.node,
                    "{} must have shape [{}] or [{}], got {}", i == 1 ? "scale" : "bias", g, c,
                    shape_str(t.shape));
  }
  ctx.set_output(0, x.dtype, x.shape);
}

template <typename T>
void groupnorm_ref_typed(const KernelContext& ctx) {
  const NCS d = ncs(ctx.inputs[0].shape);
  const int64_t g = ctx.attrs().int_("num_groups");
  const int64_t cg = d.c / g;
  const T* scale = ctx.inputs[1].ptr<const T>();
  const T* bias = ctx.inputs[2].ptr<const T>();
  const bool per_channel = ctx.inputs[1].dim(0) == d.c;
  // Row r is (n, group); element i of a row lies in channel group*cg + i / s.
  auto param = [&](const T* p, int64_t r, int64_t i) {
    const int64_t grp = r % g;
    return static_cast<double>(per_channel ? p[grp * cg + i / d.s] : p[grp]);
  };
  normalize_rows(
      ctx.inputs[0].ptr<const T>(), ctx.outputs[0].ptr<T>(), d.n * g, cg * d.s,
      ctx.attrs().get_float("epsilon", 1e-5f),
      [&](int64_t r, int64_t i) { return param(scale, r, i); },
      [&](int64_t r, int64_t i) { return param(bias, r, i); });
}

void groupnorm_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return groupnorm_ref_typed<double>(ctx);
  groupnorm_ref_typed<float>(ctx);
}

// ---- LayerNormalization ----

int64_t ln_axis(const Attributes& a, size_t rank, const Node& node) {
  return normalize_axis(a.get_int("axis", -1), static_cast<int64_t>(rank), node);
}

// Whether `p` broadcasts (numpy-style, from the right) to `target`.
bool broadcasts_to(const Shape& p, std::span<const int64_t> target) {
  if (p.size() > target.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    int64_t pd = p[p.size() - 1 - i], td = target[target.size() - 1 - i];
    if (pd != td && pd != 1) return false;
  }
  return true;
}

void ln_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 1, ctx.node, "X must have rank >= 1");
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "X must be float, got {}", dtype_name(x.dtype));
  const int64_t axis = ln_axis(ctx.node.attrs, x.shape.size(), ctx.node);
  std::span<const int64_t> norm_shape(x.shape.begin() + axis, x.shape.end());
  for (size_t i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) {
      SAVE_NODE_CHECK(i == 2, ctx.node, "Scale is required");
      continue;
    }
    const TensorInfo& t = ctx.input(i);
    SAVE_NODE_CHECK(t.dtype == x.dtype && broadcasts_to(t.shape, norm_shape), ctx.node,
                    "{} of shape {} does not broadcast to the normalised shape {}",
                    i == 1 ? "Scale" : "B", shape_str(t.shape), shape_str(norm_shape));
  }
  ctx.set_output(0, x.dtype, x.shape);
  Shape stat = x.shape;
  for (size_t i = static_cast<size_t>(axis); i < stat.size(); ++i) stat[i] = 1;
  // stash_type 1 (the only value in practice) keeps statistics in float32.
  const DType st = x.dtype == DType::kF64 ? DType::kF64 : DType::kF32;
  for (size_t i = 1; i < ctx.outputs.size() && i <= 2; ++i) ctx.set_output(i, st, stat);
}

// Element offsets of a parameter broadcast over the normalised shape.
std::vector<int64_t> broadcast_offsets(std::span<const int64_t> p, std::span<const int64_t> norm) {
  std::vector<int64_t> pstr(norm.size(), 0);
  int64_t st = 1;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t pi = p.size() - 1 - i, ni = norm.size() - 1 - i;
    pstr[ni] = p[pi] == 1 ? 0 : st;
    st *= p[pi];
  }
  const int64_t len = shape_numel(norm);
  std::vector<int64_t> off(static_cast<size_t>(len));
  std::vector<int64_t> idx(norm.size(), 0);
  for (int64_t e = 0; e < len; ++e) {
    int64_t o = 0;
    for (size_t k = 0; k < norm.size(); ++k) o += idx[k] * pstr[k];
    off[static_cast<size_t>(e)] = o;
    for (size_t k = norm.size(); k-- > 0;) {
      if (++idx[k] < norm[k]) break;
      idx[k] = 0;
    }
  }
  return off;
}

template <typename T>
void ln_ref_typed(const KernelContext& ctx) {
  const TensorView& xv = ctx.inputs[0];
  const int64_t axis = ln_axis(ctx.attrs(), xv.rank(), ctx.node);
  std::span<const int64_t> norm = xv.shape.subspan(static_cast<size_t>(axis));
  const int64_t len = shape_numel(norm);
  const int64_t rows = len == 0 ? 0 : xv.numel() / len;
  const T* scale = ctx.inputs[1].ptr<const T>();
  const T* bias = ctx.has_input(2) ? ctx.inputs[2].ptr<const T>() : nullptr;
  const auto soff = broadcast_offsets(ctx.inputs[1].shape, norm);
  const auto boff = bias ? broadcast_offsets(ctx.inputs[2].shape, norm) : std::vector<int64_t>{};
  const T* x = xv.ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
  S* mean_out = output_present(ctx, 1) ? ctx.outputs[1].ptr<S>() : nullptr;
  S* inv_out = output_present(ctx, 2) ? ctx.outputs[2].ptr<S>() : nullptr;
  const double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xp = x + r * len;
    T* yp = y + r * len;
    double s = 0, sq = 0;
    for (int64_t i = 0; i < len; ++i) s += static_cast<double>(xp[i]);
    const double mean = s / static_cast<double>(len);
    for (int64_t i = 0; i < len; ++i) {
      const double v = static_cast<double>(xp[i]) - mean;
      sq += v * v;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
    if (mean_out) mean_out[r] = static_cast<S>(mean);
    if (inv_out) inv_out[r] = static_cast<S>(inv);
    for (int64_t i = 0; i < len; ++i) {
      const size_t u = static_cast<size_t>(i);
      double v = (static_cast<double>(xp[i]) - mean) * inv * static_cast<double>(scale[soff[u]]);
      if (bias) v += static_cast<double>(bias[boff[u]]);
      yp[i] = static_cast<T>(v);
    }
  }
}

void ln_reference(const KernelContext& ctx) {
  if (ctx.inputs[0].dtype == DType::kF64) return ln_ref_typed<double>(ctx);
  ln_ref_typed<float>(ctx);
}

// oneDNN reports the variance; ONNX wants 1 / sqrt(variance + epsilon).
class DnnlLayerNormKernel : public DnnlNormKernel {
 public:
  DnnlLayerNormKernel(dnnl::engine& eng, dnnl::stream& strm, dnnl::primitive prim,
                      std::vector<Arg> args, int64_t rows, float eps, bool want_mean, bool want_inv)
      : DnnlNormKernel(eng, strm, std::move(prim), std::move(args)),
        rows_(rows),
        eps_(eps),
        want_mean_(want_mean),
        want_inv_(want_inv) {
    if (want_mean || want_inv) {
      // Scratch for whichever statistic ONNX did not ask for.
      scratch_.resize(static_cast<size_t>(rows));
    }
  }
  void run(const KernelContext& ctx) override {
    if (!want_mean_ && !want_inv_) return execute(ctx, 0, 0);
    std::unordered_map<int, memory> m;
    for (const Arg& a : args_) {
      void* p;
      if (a.dnnl_arg == DNNL_ARG_MEAN) {
        p = want_mean_ ? ctx.outputs[1].data : scratch_.data();
      } else if (a.dnnl_arg == DNNL_ARG_VARIANCE) {
        p = want_inv_ ? ctx.outputs[2].data : scratch_.data();
      } else {
        p = a.slot >= 0 ? ctx.inputs[static_cast<size_t>(a.slot)].data
                        : ctx.outputs[static_cast<size_t>(-a.slot - 1)].data;
      }
      m.emplace(a.dnnl_arg, memory(a.md, eng_, p));
    }
    prim_.execute(strm_, m);
    strm_.wait();
    if (want_inv_) {
      float* v = ctx.outputs[2].ptr<float>();
#pragma omp simd
      for (int64_t i = 0; i < rows_; ++i) v[i] = 1.0f / std::sqrt(v[i] + eps_);
    }
  }

 private:
  int64_t rows_;
  float eps_;
  bool want_mean_, want_inv_;
  std::vector<float> scratch_;
};

std::unique_ptr<Kernel> ln_make_fast(const PrepareContext& ctx) {
  using namespace dnnl;
  const TensorInfo& x = *ctx.inputs[0];
  if (x.dtype != DType::kF32 || shape_numel(x.shape) == 0) return nullptr;
  const int64_t axis = ln_axis(ctx.attrs(), x.shape.size(), ctx.node);
  const int64_t len = shape_numel(std::span<const int64_t>(x.shape).subspan(axis));
  const int64_t rows = shape_numel(x.shape) / len;
  // oneDNN takes scale/shift of exactly the normalised size.
  if (shape_numel(ctx.inputs[1]->shape) != len) return nullptr;
  const bool has_bias = ctx.has_input(2);
  if (has_bias && shape_numel(ctx.inputs[2]->shape) != len) return nullptr;
  const bool want_mean = output_wanted(ctx, 1), want_inv = output_wanted(ctx, 2);
  const float eps = ctx.attrs().get_float("epsilon", 1e-5f);
  memory::desc md({rows, len}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc pmd({len}, memory::data_type::f32, memory::format_tag::a);
  memory::desc smd({rows}, memory::data_type::f32, memory::format_tag::a);
  auto flags = normalization_flags::use_scale;
  if (has_bias) flags |= normalization_flags::use_shift;
  std::vector<DnnlNormKernel::Arg> args{{DNNL_ARG_SRC, 0, md}, {DNNL_ARG_SCALE, 1, pmd}};
  if (has_bias) args.push_back({DNNL_ARG_SHIFT, 2, pmd});
  args.push_back({DNNL_ARG_DST, -1, md});
  const bool stats = want_mean || want_inv;
  if (stats) {
    args.push_back({DNNL_ARG_MEAN, -2, smd});
    args.push_back({DNNL_ARG_VARIANCE, -3, smd});
  }
  try {
    // Training propagation is what makes oneDNN write out the statistics.
    layer_normalization_forward::desc d(
        stats ? prop_kind::forward_training : prop_kind::forward_inference, md, smd, eps, flags);
    layer_normalization_forward::primitive_desc pd(d, *ctx.engine);
    return std::make_unique<DnnlLayerNormKernel>(*ctx.engine, *ctx.stream,
                                                 layer_normalization_forward(pd), std::move(args),
                                                 rows, eps, want_mean, want_inv);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// ---- interval rules ----

// BatchNormalization (inference): per channel y = a x + b with exact
// statistics, so the sign of a picks which end of x gives which end of y.
void bn_interval(const IntervalContext& ctx) {
  if (bn_training(ctx.attrs(), ctx.opset) || !ctx.known(0) || ctx.lo[0].dtype != DType::kF32)
    return ctx.decline();
  for (size_t i = 1; i <= 4; ++i)
    if (!ctx.exact(i)) return ctx.decline();
  const NCS d = ncs(ctx.lo[0].shape);
  const double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  const float* lo = ctx.lo[0].ptr<const float>();
  const float* hi = ctx.hi[0].ptr<const float>();
  float* yl = ctx.out_lo[0].ptr<float>();
  float* yh = ctx.out_hi[0].ptr<float>();
  auto param = [&](size_t i, int64_t c) { return double(ctx.lo[i].ptr<const float>()[c]); };
  for (int64_t c = 0; c < d.c; ++c) {
    const double a = param(1, c) / std::sqrt(param(4, c) + eps);
    const double b = param(2, c) - param(3, c) * a;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t i = 0; i < d.s; ++i) {
        const int64_t e = (n * d.c + c) * d.s + i;
        const double l = a * lo[e] + b, h = a * hi[e] + b;
        yl[e] = static_cast<float>(a >= 0 ? l : h);
        yh[e] = static_cast<float>(a >= 0 ? h : l);
      }
  }
  for (size_t i = 1; i < ctx.out_lo.size(); ++i) ctx.out_known[i] = 0;
}

// LayerNormalization: z_i = d_i / s with d_i = x_i - mean (linear in x:
// bounded exactly over the box) and s = sqrt(var + eps), var bounded by the
// squares of the d bounds. Independently of the input bounds |z_i| <=
// sqrt(n - 1) (max |d_i|^2 <= (n - 1) var). Then scale and bias, exact, as
// an affine map whose sign picks the ends.
void ln_interval(const IntervalContext& ctx) {
  if (!ctx.known(0) || ctx.lo[0].dtype != DType::kF32 || !ctx.exact(1) ||
      (ctx.has_input(2) && !ctx.exact(2)))
    return ctx.decline();
  const TensorView& xv = ctx.lo[0];
  const int64_t axis = ln_axis(ctx.attrs(), xv.rank(), ctx.node);
  std::span<const int64_t> norm = xv.shape.subspan(static_cast<size_t>(axis));
  const int64_t len = shape_numel(norm);
  if (len == 0) return ctx.decline();
  const int64_t rows = xv.numel() / len;
  const float* scale = ctx.lo[1].ptr<const float>();
  const float* bias = ctx.has_input(2) ? ctx.lo[2].ptr<const float>() : nullptr;
  const auto soff = broadcast_offsets(ctx.lo[1].shape, norm);
  const auto boff = bias ? broadcast_offsets(ctx.lo[2].shape, norm) : std::vector<int64_t>{};
  const double eps = ctx.attrs().get_float("epsilon", 1e-5f);
  const double n = static_cast<double>(len);
  const double zmax = std::sqrt(n - 1);
  const float* lo = ctx.lo[0].ptr<const float>();
  const float* hi = ctx.hi[0].ptr<const float>();
  float* yl = ctx.out_lo[0].ptr<float>();
  float* yh = ctx.out_hi[0].ptr<float>();
  std::vector<double> dl(static_cast<size_t>(len)), dh(static_cast<size_t>(len));
  for (int64_t r = 0; r < rows; ++r) {
    const float* l = lo + r * len;
    const float* h = hi + r * len;
    double sl = 0, sh = 0;
    for (int64_t i = 0; i < len; ++i) {
      sl += l[i];
      sh += h[i];
    }
    double var_lo = 0, var_hi = 0;
    for (int64_t i = 0; i < len; ++i) {
      const size_t u = static_cast<size_t>(i);
      // d_i = x_i (1 - 1/n) - (sum of the others) / n.
      dl[u] = l[i] * (1 - 1 / n) - (sh - h[i]) / n;
      dh[u] = h[i] * (1 - 1 / n) - (sl - l[i]) / n;
      const double a2 = dl[u] * dl[u], b2 = dh[u] * dh[u];
      var_hi += std::max(a2, b2);
      if (dl[u] > 0 || dh[u] < 0) var_lo += std::min(a2, b2);
    }
    const double s_lo = std::sqrt(var_lo / n + eps), s_hi = std::sqrt(var_hi / n + eps);
    for (int64_t i = 0; i < len; ++i) {
      const size_t u = static_cast<size_t>(i);
      double zl = dl[u] >= 0 ? dl[u] / s_hi : dl[u] / s_lo;
      double zh = dh[u] >= 0 ? dh[u] / s_lo : dh[u] / s_hi;
      if (!(zl >= -zmax)) zl = -zmax;  // also NaN (unbounded inputs)
      if (!(zh <= zmax)) zh = zmax;
      const double g = scale[soff[u]], b = bias ? double(bias[boff[u]]) : 0.0;
      const double a1 = zl * g + b, a2 = zh * g + b;
      yl[r * len + i] = static_cast<float>(std::min(a1, a2));
      yh[r * len + i] = static_cast<float>(std::max(a1, a2));
    }
  }
  for (size_t i = 1; i < ctx.out_lo.size(); ++i) ctx.out_known[i] = 0;
}

const OpDef kBatchNorm{"BatchNormalization", bn_infer, bn_reference,
                       bn_make_fast,         false,    bn_interval};
const OpDef kInstanceNorm{"InstanceNormalization", instnorm_infer, instnorm_reference,
                          instnorm_make_fast};
const OpDef kGroupNorm{"GroupNormalization", groupnorm_infer, groupnorm_reference};
const OpDef kLayerNorm{"LayerNormalization", ln_infer, ln_reference,
                       ln_make_fast,         false,    ln_interval};

}  // namespace

void register_norm_ops(OpRegistry& r) {
  r.add(kBatchNorm);
  r.add(kInstanceNorm);
  r.add(kGroupNorm);
  r.add(kLayerNorm);
}

}  // namespace save
