// Elementwise unary ops: Abs Neg Exp Log Sqrt Erf Sigmoid Tanh Relu LeakyRelu
// Elu Selu Celu Softplus Softsign HardSigmoid HardSwish Gelu, plus Clip.
// Cast, CastLike, Not, Identity and Dropout live in unary_misc.cpp
// (registered from here).
//
// Every op is one value of `U`; the shape rule, reference kernel and fast
// kernel are templates over it, so adding an op is a case in apply() and a
// line in the table at the bottom. Fast kernels are oneDNN eltwise primitives
// on the flattened tensor (elementwise ops do not care about the shape); where
// oneDNN 2.6 has no primitive (Erf, Softsign, HardSigmoid) a vectorisable loop
// runs instead.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

enum class U {
  kAbs,
  kNeg,
  kExp,
  kLog,
  kSqrt,
  kErf,
  kSigmoid,
  kTanh,
  kRelu,
  kLeakyRelu,
  kElu,
  kSelu,
  kSoftplus,
  kSoftsign,
  kHardSigmoid,
  kHardSwish,
  kGelu,
  kCelu,
};

// Attribute values of an op, with ONNX's defaults.
struct Params {
  float alpha = 0.f;
  float beta = 0.f;
  float gamma = 0.f;
  bool tanh_approx = false;  // Gelu approximate="tanh"
};

Params read_params(U k, const Node& node) {
  const Attributes& a = node.attrs;
  Params p;
  switch (k) {
    case U::kLeakyRelu:
      p.alpha = a.get_float("alpha", 0.01f);
      break;
    case U::kElu:
    case U::kCelu:
      p.alpha = a.get_float("alpha", 1.0f);
      break;
    case U::kSelu:
      p.alpha = a.get_float("alpha", 1.67326319217681884765625f);
      p.gamma = a.get_float("gamma", 1.05070102214813232421875f);
      break;
    case U::kHardSigmoid:
      p.alpha = a.get_float("alpha", 0.2f);
      p.beta = a.get_float("beta", 0.5f);
      break;
    case U::kGelu: {
      std::string approx = a.get_string("approximate", "none");
      SAVE_NODE_CHECK(approx == "none" || approx == "tanh", node,
                      "attribute approximate must be 'none' or 'tanh', got '{}'", approx);
      p.tanh_approx = approx == "tanh";
      break;
    }
    default:
      break;
  }
  return p;
}

// Which element types an op accepts (ONNX type constraints, restricted to the
// types the engine has).
constexpr bool accepts(U k, DType t) {
  switch (k) {
    case U::kAbs:
      return t != DType::kBool;
    case U::kNeg:
    case U::kRelu:
      return t != DType::kBool && t != DType::kU8;
    default:
      return is_float(t);
  }
}

template <typename T>
constexpr bool accepts_type(U k) {
  if constexpr (std::is_same_v<T, bool>)
    return false;
  else if constexpr (std::is_floating_point_v<T>)
    return true;
  else if constexpr (std::is_signed_v<T>)
    return k == U::kAbs || k == U::kNeg || k == U::kRelu;
  else
    return k == U::kAbs;
}

// -x; integers wrap (-INT64_MIN is INT64_MIN, as in numpy) instead of
// overflowing, which would be undefined behaviour.
template <typename T>
T negate(T x) {
  if constexpr (std::is_integral_v<T>) {
    using W = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<W>(W(0) - static_cast<W>(x)));
  } else {
    return -x;
  }
}

// The math of each op on one element, written as in the ONNX spec. T is float
// or double for all but Abs/Neg/Relu.
template <U K, typename T>
T apply(T x, const Params& p) {
  if constexpr (K == U::kAbs) {
    if constexpr (std::is_unsigned_v<T>)
      return x;
    else
      return x < T(0) ? negate(x) : x;
  } else if constexpr (K == U::kNeg) {
    return negate(x);
  } else if constexpr (K == U::kRelu) {
    return x < T(0) ? T(0) : x;  // keeps NaN, like numpy.maximum(x, 0)
  } else if constexpr (K == U::kExp) {
    return std::exp(x);
  } else if constexpr (K == U::kLog) {
    return std::log(x);
  } else if constexpr (K == U::kSqrt) {
    return std::sqrt(x);
  } else if constexpr (K == U::kErf) {
    return std::erf(x);
  } else if constexpr (K == U::kSigmoid) {
    return T(1) / (T(1) + std::exp(-x));
  } else if constexpr (K == U::kTanh) {
    return std::tanh(x);
  } else if constexpr (K == U::kLeakyRelu) {
    return x < T(0) ? static_cast<T>(p.alpha) * x : x;
  } else if constexpr (K == U::kElu) {
    return x < T(0) ? static_cast<T>(p.alpha) * std::expm1(x) : x;
  } else if constexpr (K == U::kCelu) {
    const T a = static_cast<T>(p.alpha);
    return x < T(0) ? a * std::expm1(x / a) : x;
  } else if constexpr (K == U::kSelu) {
    T g = static_cast<T>(p.gamma), a = static_cast<T>(p.alpha);
    return x <= T(0) ? g * a * std::expm1(x) : g * x;
  } else if constexpr (K == U::kSoftplus) {
    // log(1 + e^x), written so that large x does not overflow.
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  } else if constexpr (K == U::kSoftsign) {
    return x / (T(1) + std::abs(x));
  } else if constexpr (K == U::kHardSigmoid) {
    T v = static_cast<T>(p.alpha) * x + static_cast<T>(p.beta);
    return std::max(T(0), std::min(T(1), v));
  } else if constexpr (K == U::kHardSwish) {
    return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  } else if constexpr (K == U::kGelu) {
    if (p.tanh_approx) {
      const T k = std::sqrt(T(2) / T(M_PI));
      return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x / std::sqrt(T(2))));
  }
}

template <U K>
void infer_unary(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(accepts(K, x.dtype), ctx.node, "input of element type {} is not supported",
                  dtype_name(x.dtype));
  read_params(K, ctx.node);  // validates attributes at plan time
  ctx.set_output(0, x.dtype, x.shape);
}

template <U K>
void reference_unary(const KernelContext& ctx) {
  const Params p = read_params(K, ctx.node);
  const TensorView& x = ctx.inputs[0];
  const TensorView& y = ctx.outputs[0];
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (accepts_type<T>(K)) {
      const T* in = x.ptr<const T>();
      T* out = y.ptr<T>();
      const int64_t n = x.numel();
      for (int64_t i = 0; i < n; ++i) out[i] = apply<K, T>(in[i], p);
    } else {
      node_fail(ctx.node, "element type {} is not supported", dtype_name(x.dtype));
    }
  });
}

// ---- fast kernels ----

// Smallest tensor worth a fast kernel. Rough single-core measurements: a
// oneDNN call costs ~2 us; for transcendental ops the reference (scalar libm)
// is 5-40x slower per element, so the fast kernel wins from a few hundred
// elements; cheap ops (Abs, Relu...) vectorise in the reference too and only
// gain from oneDNN's threads on large tensors. LeakyRelu's reference does
// not vectorise (0.27 ms where oneDNN took 0.014 ms on real models), so below
// the threshold it takes a branch-free loop kernel instead.
constexpr int64_t kMinFastElemsCheap = int64_t{1} << 16;
constexpr int64_t kMinFastElemsClip = 4096;
constexpr int64_t min_fast_elems(U k) {
  switch (k) {
    case U::kAbs:
    case U::kNeg:
    case U::kRelu:
      return kMinFastElemsCheap;
    case U::kLeakyRelu:
      return 1;
    default:
      return 256;
  }
}

// oneDNN eltwise primitives over the flattened tensor: the first maps src to
// dst, any further ones run in place on dst (Selu = gamma * elu_alpha(x)).
// An eltwise primitive with a linear post-op would be one pass, but with
// oneDNN 2.6 it produced all zeros here, so Selu takes two.
struct EltwiseStep {
  dnnl::algorithm alg;
  float alpha = 0.f, beta = 0.f;
};

class EltwiseKernel : public Kernel {
 public:
  EltwiseKernel(const PrepareContext& pc, int64_t n, std::initializer_list<EltwiseStep> steps)
      : engine_(pc.engine), stream_(pc.stream) {
    const int64_t dims[] = {n};
    md_ = plain_desc(dims, DType::kF32);
    for (const EltwiseStep& s : steps) {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, s.alg, md_, s.alpha,
                                    s.beta);
      prims_.emplace_back(dnnl::eltwise_forward::primitive_desc(d, *engine_));
    }
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory src(md_, *engine_, ctx.inputs[0].data);
    dnnl::memory dst(md_, *engine_, ctx.outputs[0].data);
    for (size_t i = 0; i < prims_.size(); ++i)
      prims_[i].execute(*stream_, {{DNNL_ARG_SRC, i == 0 ? src : dst}, {DNNL_ARG_DST, dst}});
    stream_->wait();
  }

 private:
  dnnl::engine* engine_;
  dnnl::stream* stream_;
  dnnl::memory::desc md_;
  std::vector<dnnl::eltwise_forward> prims_;
};

// erf(x) for float as a rational function of x (the approximation Eigen and
// XLA use): no exp, so it vectorises; max abs error ~5e-7. Inputs are
// clamped to [-4, 4] (beyond, erf rounds to +-1 in float) in a separate loop:
// GCC does not vectorise a clamp followed by a division in one loop.
inline float erf_rational(float x) {
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}

void erf_block(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] > 4.f ? 4.f : x[i];  // ternaries keep NaN
    y[i] = v < -4.f ? -4.f : v;
  }
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = erf_rational(y[i]);
}

// A float32 loop kernel for ops oneDNN lacks; the body is branch-free so
// `omp simd` vectorises it.
template <U K>
class LoopKernel : public Kernel {
 public:
  explicit LoopKernel(Params p) : p_(p) {}
  void run(const KernelContext& ctx) override {
    const float* x = ctx.inputs[0].ptr<const float>();
    float* y = ctx.outputs[0].ptr<float>();
    const int64_t n = ctx.inputs[0].numel();
    const float a = p_.alpha, b = p_.beta;
    if constexpr (K == U::kErf) {
      constexpr int64_t kBlock = 4096;
      const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t start = blk * kBlock;
        erf_block(x + start, y + start, std::min(kBlock, n - start));
      }
      return;
    }
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (K == U::kSoftsign) {
        y[i] = x[i] / (1.f + std::fabs(x[i]));
      } else if constexpr (K == U::kLeakyRelu) {
        y[i] = x[i] < 0.f ? a * x[i] : x[i];  // keeps NaN, like the reference
      } else if constexpr (K == U::kHardSigmoid) {
        const float v = a * x[i] + b;
        const float lo = v < 0.f ? 0.f : v;
        y[i] = lo > 1.f ? 1.f : lo;
      }
    }
  }

 private:
  Params p_;
};

template <U K>
std::unique_ptr<Kernel> make_fast_unary(const PrepareContext& pc) {
  if (pc.inputs[0]->dtype != DType::kF32) return nullptr;
  const int64_t n = shape_numel(pc.inputs[0]->shape);
  if (n < min_fast_elems(K)) return nullptr;
  const Params p = read_params(K, pc.node);
  using A = dnnl::algorithm;
  auto elt = [&](A alg, float alpha = 0.f, float beta = 0.f) -> std::unique_ptr<Kernel> {
    return std::make_unique<EltwiseKernel>(pc, n,
                                           std::initializer_list<EltwiseStep>{{alg, alpha, beta}});
  };
  try {
    switch (K) {
      case U::kAbs:
        return elt(A::eltwise_abs);
      case U::kNeg:
        return elt(A::eltwise_linear, -1.f, 0.f);
      case U::kExp:
        return elt(A::eltwise_exp);
      case U::kLog:
        return elt(A::eltwise_log);
      case U::kSqrt:
        return elt(A::eltwise_sqrt);
      case U::kSigmoid:
        return elt(A::eltwise_logistic);
      case U::kTanh:
        return elt(A::eltwise_tanh);
      case U::kRelu:
        return elt(A::eltwise_relu, 0.f);
      case U::kLeakyRelu:
        if (n < kMinFastElemsCheap) return std::make_unique<LoopKernel<K>>(p);
        return elt(A::eltwise_relu, p.alpha);
      case U::kElu:
        return elt(A::eltwise_elu, p.alpha);
      case U::kSelu:
        return std::make_unique<EltwiseKernel>(
            pc, n,
            std::initializer_list<EltwiseStep>{{A::eltwise_elu, p.alpha, 0.f},
                                               {A::eltwise_linear, p.gamma, 0.f}});
      case U::kSoftplus:
        return elt(A::eltwise_soft_relu);
      case U::kHardSwish:
        return elt(A::eltwise_hardswish);
      case U::kGelu:
        return elt(p.tanh_approx ? A::eltwise_gelu_tanh : A::eltwise_gelu_erf);
      case U::kCelu:
        return nullptr;  // not reached: Celu's OpDef has no fast kernel
      case U::kErf:
      case U::kSoftsign:
      case U::kHardSigmoid:
        return std::make_unique<LoopKernel<K>>(p);
    }
  } catch (const dnnl::error&) {
    return nullptr;  // unsupported on this CPU/build: the reference runs
  }
  return nullptr;
}

// Interval rule: every op here is monotone on each side of one turning
// point (0 for most, where it is harmless for the monotone ones; Gelu's
// minimum near -0.7518; HardSwish's at -1.5), so its extremes over [lo, hi]
// are at lo, hi or the clamped turning point.
template <U K>
void interval_unary(const IntervalContext& ctx) {
  if constexpr (K == U::kGelu) {
    // The minimum of both Gelu forms lies within 1e-3 of -0.7518, where the
    // curve is flat (f'' ~ 0.9): 1e-5 slack covers the offset.
    pivot_rule(ctx, -0.7518, 1e-5);
  } else if constexpr (K == U::kHardSwish) {
    pivot_rule(ctx, -1.5);
  } else if constexpr (K == U::kLog) {
    // oneDNN's log errs by up to 3.6e-6 absolutely (measured on [0.05, 4],
    // worst near x = 1 where the result is ~0): relative margins miss it.
    pivot_rule(ctx, 0.0);
    widen_abs(ctx, 1e-5);
  } else {
    // Abs, Neg and Relu only move the sign or select: no rounding.
    if constexpr (K == U::kAbs || K == U::kNeg || K == U::kRelu) *ctx.exact_arith = true;
    pivot_rule(ctx, 0.0);
  }
}

template <U K>
constexpr OpDef unary_def(const char* name) {
  // Celu is rare and has no oneDNN form: no fast kernel (the reference runs).
  return OpDef{
      name,  &infer_unary<K>,   &reference_unary<K>, K == U::kCelu ? nullptr : &make_fast_unary<K>,
      false, &interval_unary<K>};
}

const OpDef kAbs = unary_def<U::kAbs>("Abs");
const OpDef kNeg = unary_def<U::kNeg>("Neg");
const OpDef kExp = unary_def<U::kExp>("Exp");
const OpDef kLog = unary_def<U::kLog>("Log");
const OpDef kSqrt = unary_def<U::kSqrt>("Sqrt");
const OpDef kErf = unary_def<U::kErf>("Erf");
const OpDef kSigmoid = unary_def<U::kSigmoid>("Sigmoid");
const OpDef kTanh = unary_def<U::kTanh>("Tanh");
const OpDef kRelu = unary_def<U::kRelu>("Relu");
const OpDef kLeakyRelu = unary_def<U::kLeakyRelu>("LeakyRelu");
const OpDef kElu = unary_def<U::kElu>("Elu");
const OpDef kSelu = unary_def<U::kSelu>("Selu");
const OpDef kSoftplus = unary_def<U::kSoftplus>("Softplus");
const OpDef kSoftsign = unary_def<U::kSoftsign>("Softsign");
const OpDef kHardSigmoid = unary_def<U::kHardSigmoid>("HardSigmoid");
const OpDef kHardSwish = unary_def<U::kHardSwish>("HardSwish");
const OpDef kGelu = unary_def<U::kGelu>("Gelu");
const OpDef kCelu = unary_def<U::kCelu>("Celu");

// ---- Clip ----
// min/max are attributes up to opset 10 and optional inputs from 11; accept
// either form. Missing bounds are the type's limits.

template <typename T>
std::pair<T, T> clip_bounds(const Attributes& a, const TensorView* lo, const TensorView* hi) {
  T l = std::numeric_limits<T>::lowest(), h = std::numeric_limits<T>::max();
  if (a.has("min"))
    l = static_cast<T>(a.get_float("min", 0.f));
  else if (lo != nullptr)
    l = *lo->ptr<const T>();
  if (a.has("max"))
    h = static_cast<T>(a.get_float("max", 0.f));
  else if (hi != nullptr)
    h = *hi->ptr<const T>();
  return {l, h};
}

void infer_clip(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.dtype != DType::kBool, ctx.node, "bool input is not supported");
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const TensorInfo& b = ctx.input(i);
    SAVE_NODE_CHECK(b.dtype == x.dtype && shape_numel(b.shape) == 1, ctx.node,
                    "{} must be a one-element tensor of the input's type {}, got {} "
                    "of shape {}",
                    i == 1 ? "min" : "max", dtype_name(x.dtype), dtype_name(b.dtype),
                    shape_str(b.shape));
  }
  ctx.set_output(0, x.dtype, x.shape);
}

const TensorView* optional_input(const KernelContext& ctx, size_t i) {
  return ctx.has_input(i) ? &ctx.inputs[i] : nullptr;
}

void reference_clip(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      auto [lo, hi] = clip_bounds<T>(ctx.attrs(), optional_input(ctx, 1), optional_input(ctx, 2));
      const T* in = x.ptr<const T>();
      T* out = ctx.outputs[0].ptr<T>();
      // min(max(x, lo), hi): gives hi when lo > hi, as the spec says.
      for (int64_t i = 0; i < x.numel(); ++i) out[i] = std::min(std::max(in[i], lo), hi);
    }
  });
}

// oneDNN clip with the bounds baked into the primitive. Bounds are read from
// the inputs on every run (they may be computed, or rewritten by fault
// injection) and the primitive is rebuilt when they change.
class ClipKernel : public Kernel {
 public:
  ClipKernel(const PrepareContext& pc, int64_t n) : engine_(pc.engine), stream_(pc.stream), n_(n) {
    const int64_t dims[] = {n};
    md_ = plain_desc(dims, DType::kF32);
  }
  void run(const KernelContext& ctx) override {
    auto [lo, hi] = clip_bounds<float>(ctx.attrs(), optional_input(ctx, 1), optional_input(ctx, 2));
    const float* x = ctx.inputs[0].ptr<const float>();
    float* y = ctx.outputs[0].ptr<float>();
    if (!(lo <= hi)) {
      // oneDNN's clip returns lo there; ONNX wants hi. Rare: plain loop.
      for (int64_t i = 0; i < n_; ++i) y[i] = std::min(std::max(x[i], lo), hi);
      return;
    }
    if (!built_ || lo != lo_ || hi != hi_) {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::eltwise_clip_v2, md_, lo, hi);
      prim_ = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, *engine_));
      lo_ = lo;
      hi_ = hi;
      built_ = true;
    }
    dnnl::memory src(md_, *engine_, const_cast<float*>(x));
    dnnl::memory dst(md_, *engine_, y);
    prim_.execute(*stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream_->wait();
  }

 private:
  dnnl::engine* engine_;
  dnnl::stream* stream_;
  int64_t n_;
  dnnl::memory::desc md_;
  dnnl::eltwise_forward prim_;
  bool built_ = false;
  float lo_ = 0.f, hi_ = 0.f;
};

std::unique_ptr<Kernel> make_fast_clip(const PrepareContext& pc) {
  if (pc.inputs[0]->dtype != DType::kF32) return nullptr;
  const int64_t n = shape_numel(pc.inputs[0]->shape);
  if (n < kMinFastElemsClip) return nullptr;
  return std::make_unique<ClipKernel>(pc, n);
}

// Clip is non-decreasing in x, min and max alike.
const OpDef kClip{"Clip", &infer_clip, &reference_clip, &make_fast_clip, false, &interval_monotone};

}  // namespace

void register_unary_ops(OpRegistry& r) {
  for (const OpDef* d :
       {&kAbs, &kNeg, &kExp, &kLog, &kSqrt, &kErf, &kSigmoid, &kTanh, &kRelu, &kLeakyRelu, &kElu,
        &kSelu, &kSoftplus, &kSoftsign, &kHardSigmoid, &kHardSwish, &kGelu, &kCelu, &kClip})
    r.add(*d);
}

}  // namespace save
