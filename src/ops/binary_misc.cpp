// Broadcasting ops with mixed element types: Pow (base and exponent types
// differ), PRelu (slope broadcast to the input only) and Where (bool
// condition). Part of the `binary` family; registered by register_binary_ops().
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ops/binary_util.hpp"
#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using namespace binary_detail;

// Smallest tensors worth a oneDNN call (see binary.cpp): Pow's reference
// calls pow() per element, PRelu's vectorises.
constexpr int64_t kMinFastElemsPow = 256;
constexpr int64_t kMinFastElemsPRelu = int64_t{1} << 14;

// ---- Pow ----

template <typename T, typename E>
T pow_elem(T a, E b) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    // Exact integer power by squaring (wrapping on overflow); negative
    // exponents truncate toward zero like numpy's float result cast back.
    if (b < E(0)) {
      if (a == T(1)) return T(1);
      if constexpr (std::is_signed_v<T>) {
        if (a == T(-1)) return (static_cast<int64_t>(b) % 2 == 0) ? T(1) : T(-1);
      }
      return T(0);
    }
    using W = std::conditional_t<std::is_signed_v<T>, std::make_unsigned_t<T>, T>;
    W result = 1, base = static_cast<W>(a);
    for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
      if (e & 1u) result = static_cast<W>(result * base);
      base = static_cast<W>(base * base);
    }
    return static_cast<T>(result);
  } else {
    // In double, then rounded once: float32 results match numpy's.
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
}

void infer_pow(InferContext& ctx) {
  const TensorInfo& a = ctx.input(0);
  const TensorInfo& b = ctx.input(1);
  SAVE_NODE_CHECK(a.dtype != DType::kBool && b.dtype != DType::kBool, ctx.node,
                  "bool operands are not supported (got {} and {})", dtype_name(a.dtype),
                  dtype_name(b.dtype));
  const Shape bs = legacy_b_shape(ctx.node, ctx.opset, a.shape, b.shape);
  ctx.set_output(0, a.dtype, broadcast_shapes(a.shape, bs, ctx.node));
}

void reference_pow(const KernelContext& ctx) {
  const TensorView& a = ctx.inputs[0];
  const TensorView& b = ctx.inputs[1];
  const Shape bs = legacy_b_shape(ctx.node, ctx.opset, a.shape, b.shape);
  dispatch_dtype(a.dtype, [&](auto ta) {
    using T = decltype(ta);
    dispatch_dtype(b.dtype, [&](auto tb) {
      using E = decltype(tb);
      if constexpr (!std::is_same_v<T, bool> && !std::is_same_v<E, bool>)
        map2<T, E, T>(a, a.shape, b, bs, ctx.outputs[0], [](T x, E y) { return pow_elem(x, y); });
    });
  });
}

// float32 base, one-element exponent: a oneDNN eltwise (square for 2, pow
// otherwise). The exponent is read on every run (it may be computed or
// rewritten by fault injection); the primitive is rebuilt when it changes.
class PowScalarKernel : public Kernel {
 public:
  PowScalarKernel(const PrepareContext& pc, int64_t n) : engine_(pc.engine), stream_(pc.stream) {
    const int64_t dims[] = {n};
    md_ = plain_desc(dims, DType::kF32);
  }
  void run(const KernelContext& ctx) override {
    const TensorView& e = ctx.inputs[1];
    const float exponent = dispatch_dtype(e.dtype, [&](auto tag) -> float {
      using E = decltype(tag);
      return static_cast<float>(*e.ptr<const E>());
    });
    if (!built_ || exponent != exponent_) build(exponent);
    dnnl::memory src(md_, *engine_, ctx.inputs[0].data);
    dnnl::memory dst(md_, *engine_, ctx.outputs[0].data);
    prim_.execute(*stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream_->wait();
  }

 private:
  void build(float exponent) {
    const bool square = exponent == 2.f;
    dnnl::eltwise_forward::desc d(
        dnnl::prop_kind::forward_inference,
        square ? dnnl::algorithm::eltwise_square : dnnl::algorithm::eltwise_pow, md_, 1.f,
        exponent);
    prim_ = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, *engine_));
    exponent_ = exponent;
    built_ = true;
  }
  dnnl::engine* engine_;
  dnnl::stream* stream_;
  dnnl::memory::desc md_;
  dnnl::eltwise_forward prim_;
  bool built_ = false;
  float exponent_ = 0.f;
};

std::unique_ptr<Kernel> make_fast_pow(const PrepareContext& pc) {
  const TensorInfo& a = *pc.inputs[0];
  const TensorInfo& b = *pc.inputs[1];
  const int64_t n = shape_numel(a.shape);
  // Only when the output is the base reshaped (exponent broadcast fully).
  if (a.dtype != DType::kF32 || b.dtype == DType::kBool || shape_numel(b.shape) != 1 ||
      shape_numel(pc.outputs[0]->shape) != n || n < kMinFastElemsPow)
    return nullptr;
  try {
    return std::make_unique<PowScalarKernel>(pc, n);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// ---- PRelu ----
// y = x < 0 ? slope * x : x, slope broadcast to x (unidirectional). Old
// models (opset <= 6) also give a per-channel slope of shape [C] for an
// [N, C, ...] input; that is read as [C, 1, ..., 1].

Shape prelu_slope_shape(const Node& node, std::span<const int64_t> x,
                        std::span<const int64_t> slope) {
  bool unidirectional = slope.size() <= x.size();
  for (size_t i = 0; unidirectional && i < slope.size(); ++i) {
    const int64_t d = slope[slope.size() - 1 - i];
    unidirectional = d == 1 || d == x[x.size() - 1 - i];
  }
  if (unidirectional) return Shape(slope.begin(), slope.end());
  if (slope.size() == 1 && x.size() >= 2 && slope[0] == x[1]) {
    Shape s(x.size() - 1, 1);
    s[0] = slope[0];
    return s;
  }
  node_fail(node, "slope of shape {} does not broadcast to the input's shape {}", shape_str(slope),
            shape_str(x));
}

void infer_prelu(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& slope = ctx.input(1);
  SAVE_NODE_CHECK(x.dtype == slope.dtype && x.dtype != DType::kBool, ctx.node,
                  "input and slope must have the same numeric type, got {} and {}",
                  dtype_name(x.dtype), dtype_name(slope.dtype));
  prelu_slope_shape(ctx.node, x.shape, slope.shape);
  ctx.set_output(0, x.dtype, x.shape);
}

void reference_prelu(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& slope = ctx.inputs[1];
  const Shape ss = prelu_slope_shape(ctx.node, x.shape, slope.shape);
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>)
      map2<T, T, T>(x, x.shape, slope, ss, ctx.outputs[0],
                    [](T v, T s) { return v < T(0) ? static_cast<T>(s * v) : v; });
  });
}

class PreluKernel : public Kernel {
 public:
  PreluKernel(const PrepareContext& pc, const Shape& x, const Shape& slope)
      : engine_(pc.engine), stream_(pc.stream) {
    src_md_ = plain_desc(x, DType::kF32);
    w_md_ = plain_desc(slope, DType::kF32);
    dnnl::prelu_forward::desc d(dnnl::prop_kind::forward_inference, src_md_, w_md_);
    prim_ = dnnl::prelu_forward(dnnl::prelu_forward::primitive_desc(d, *engine_));
  }
  void run(const KernelContext& ctx) override {
    // The slope is read in place each run, so rewritten weights are seen.
    dnnl::memory src(src_md_, *engine_, ctx.inputs[0].data);
    dnnl::memory w(w_md_, *engine_, ctx.inputs[1].data);
    dnnl::memory dst(src_md_, *engine_, ctx.outputs[0].data);
    prim_.execute(*stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}});
    stream_->wait();
  }

 private:
  dnnl::engine* engine_;
  dnnl::stream* stream_;
  dnnl::memory::desc src_md_, w_md_;
  dnnl::prelu_forward prim_;
};

std::unique_ptr<Kernel> make_fast_prelu(const PrepareContext& pc) {
  const TensorInfo& x = *pc.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.empty() || x.shape.size() > 6 ||
      shape_numel(x.shape) < kMinFastElemsPRelu)
    return nullptr;
  const Shape slope =
      pad_to_rank(prelu_slope_shape(pc.node, x.shape, pc.inputs[1]->shape), x.shape.size());
  try {
    return std::make_unique<PreluKernel>(pc, x.shape, slope);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// ---- Where ----

void infer_where(InferContext& ctx) {
  const TensorInfo& c = ctx.input(0);
  const TensorInfo& x = ctx.input(1);
  const TensorInfo& y = ctx.input(2);
  SAVE_NODE_CHECK(c.dtype == DType::kBool, ctx.node, "condition must be bool, got {}",
                  dtype_name(c.dtype));
  SAVE_NODE_CHECK(x.dtype == y.dtype, ctx.node, "X and Y must have the same type, got {} and {}",
                  dtype_name(x.dtype), dtype_name(y.dtype));
  ctx.set_output(0, x.dtype,
                 broadcast_shapes(broadcast_shapes(c.shape, x.shape, ctx.node), y.shape, ctx.node));
}

void reference_where(const KernelContext& ctx) {
  dispatch_dtype(ctx.inputs[1].dtype, [&](auto tag) {
    using T = decltype(tag);
    map3<bool, T, T, T>(ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], ctx.outputs[0],
                        [](bool c, T x, T y) { return c ? x : y; });
  });
}

// Fast Where for float32: the reference's per-element strided loop (steps
// known only at run time) does not vectorise. Here the broadcast strides are
// fixed at plan time and each innermost row runs a loop specialised for
// contiguous (step 1) or broadcast (step 0) operands, which GCC turns into
// vector blends. Rows of other step patterns fall back to the strided loop.
class WhereKernel : public Kernel {
 public:
  explicit WhereKernel(const PrepareContext& pc) : out_(pc.outputs[0]->shape) {
    for (size_t k = 0; k < 3; ++k) st_[k] = bcast_strides(pc.inputs[k]->shape, out_);
  }
  void run(const KernelContext& ctx) override {
    const auto* c = static_cast<const bool*>(ctx.inputs[0].data);
    const float* x = ctx.inputs[1].ptr<const float>();
    const float* y = ctx.inputs[2].ptr<const float>();
    float* o = ctx.outputs[0].ptr<float>();
    for_each_row<3>(out_, st_, [&](int64_t at, const auto& off, int64_t n, const auto& step) {
      row(c + off[0], x + off[1], y + off[2], o + at, n, step[0], step[1], step[2]);
    });
  }

 private:
  template <int SC, int SX, int SY>
  static void row_fixed(const bool* c, const float* x, const float* y, float* o, int64_t n) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) o[j] = c[j * SC] ? x[j * SX] : y[j * SY];
  }
  static void row(const bool* c, const float* x, const float* y, float* o, int64_t n, int64_t sc,
                  int64_t sx, int64_t sy) {
    if (sc == 1 && sx == 1 && sy == 1) return row_fixed<1, 1, 1>(c, x, y, o, n);
    if (sc == 1 && sx == 1 && sy == 0) return row_fixed<1, 1, 0>(c, x, y, o, n);
    if (sc == 1 && sx == 0 && sy == 1) return row_fixed<1, 0, 1>(c, x, y, o, n);
    if (sc == 1 && sx == 0 && sy == 0) return row_fixed<1, 0, 0>(c, x, y, o, n);
    if (sc == 0 && sx == 1 && sy == 1) return row_fixed<0, 1, 1>(c, x, y, o, n);
    if (sc == 0) {  // one condition for the whole row: a copy of one side
      const float* src = c[0] ? x : y;
      const int64_t s = c[0] ? sx : sy;
      if (s == 1) {
        std::memcpy(o, src, static_cast<size_t>(n) * sizeof(float));
      } else {
        for (int64_t j = 0; j < n; ++j) o[j] = src[j * s];
      }
      return;
    }
    for (int64_t j = 0; j < n; ++j) o[j] = c[j * sc] ? x[j * sx] : y[j * sy];
  }

  Shape out_;
  std::array<std::vector<int64_t>, 3> st_;
};

std::unique_ptr<Kernel> make_fast_where(const PrepareContext& pc) {
  if (pc.inputs[1]->dtype != DType::kF32 || shape_numel(pc.outputs[0]->shape) == 0) return nullptr;
  return std::make_unique<WhereKernel>(pc);
}

// Pow with an exact scalar exponent p >= 0: x^p is monotone on each side of
// 0 (NaN for negative x and fractional p: unbounded there). A negative
// exponent blows up at 0: declined.
void interval_pow(const IntervalContext& ctx) {
  if (!ctx.exact(1) || ctx.lo[1].numel() != 1) return ctx.decline();
  Tensor e(ctx.lo[1].dtype, Shape(ctx.lo[1].shape.begin(), ctx.lo[1].shape.end()));
  std::memcpy(e.data(), ctx.lo[1].data, e.nbytes());
  if (e.to_double()[0] < 0) return ctx.decline();
  pivot_rule(ctx, 0.0);
}

// PRelu: linear on each side of 0 with an exact slope.
void interval_prelu(const IntervalContext& ctx) {
  pivot_rule(ctx, 0.0);
}

const OpDef kPow{"Pow", &infer_pow, &reference_pow, &make_fast_pow, false, &interval_pow};
const OpDef kPRelu{"PRelu",          &infer_prelu, &reference_prelu,
                   &make_fast_prelu, false,        &interval_prelu};
// Where: X and Y are selected (copied) under an exact condition.
const OpDef kWhere{"Where",          &infer_where, &reference_where,
                   &make_fast_where, false,        &interval_copy};

}  // namespace

void register_binary_misc_ops(OpRegistry& r) {
  r.add(kPow);
  r.add(kPRelu);
  r.add(kWhere);
}

}  // namespace save
