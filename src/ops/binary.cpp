// Elementwise ops with numpy broadcasting: Add Sub Mul Div, the comparisons
// Equal Greater Less GreaterOrEqual LessOrEqual, and the variadic Max Min Sum Mean (1..N inputs).
// Pow, PRelu and Where live in binary_misc.cpp (registered from here).
//
// Fast kernel: a chain of oneDNN binary primitives (float32). oneDNN only
// broadcasts its second source, so the first source must already have the
// output's shape; commutative ops pick such an input, Sub computes -(b - a),
// and anything else declines to the reference.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ops/binary_util.hpp"
#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using namespace binary_detail;

enum class B { kAdd, kSub, kMul, kDiv, kMax, kMin, kEqual, kGreater, kLess, kGreaterEq, kLessEq };

constexpr bool is_comparison(B k) {
  return k == B::kEqual || k == B::kGreater || k == B::kLess || k == B::kGreaterEq ||
         k == B::kLessEq;
}

// Integer arithmetic wraps (two's complement) instead of overflowing, which
// would be undefined behaviour in C++.
template <typename T>
using Wide = std::conditional_t<std::is_signed_v<T>, std::make_unsigned_t<T>, T>;

template <B K, typename T>
auto apply(T a, T b, const Node& node) {
  if constexpr (K == B::kEqual) {
    return a == b;
  } else if constexpr (K == B::kGreater) {
    return a > b;
  } else if constexpr (K == B::kLess) {
    return a < b;
  } else if constexpr (K == B::kGreaterEq) {
    return a >= b;
  } else if constexpr (K == B::kLessEq) {
    return a <= b;
  } else if constexpr (K == B::kMax || K == B::kMin) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return K == B::kMax ? std::max(a, b) : std::min(a, b);
  } else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (K == B::kAdd) return a + b;
    if constexpr (K == B::kSub) return a - b;
    if constexpr (K == B::kMul) return a * b;
    if constexpr (K == B::kDiv) return a / b;
  } else {
    using W = Wide<T>;
    if constexpr (K == B::kAdd) return static_cast<T>(static_cast<W>(a) + static_cast<W>(b));
    if constexpr (K == B::kSub) return static_cast<T>(static_cast<W>(a) - static_cast<W>(b));
    if constexpr (K == B::kMul) return static_cast<T>(static_cast<W>(a) * static_cast<W>(b));
    if constexpr (K == B::kDiv) {
      // Truncates toward zero, like C.
      SAVE_NODE_CHECK(b != 0, node, "integer division by zero");
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return static_cast<T>(W(0) - static_cast<W>(a));  // no INT_MIN / -1 trap
      }
      return static_cast<T>(a / b);
    }
  }
}

constexpr bool accepts(B k, DType t) {
  if (t == DType::kBool) return k == B::kEqual;
  return t != DType::kUndefined;
}

template <typename T>
constexpr bool accepts_type(B k) {
  if constexpr (std::is_same_v<T, bool>)
    return k == B::kEqual;
  else
    return true;
}

const char* dtype_list_hint(B k) {
  return k == B::kEqual ? "any" : "numeric (not bool)";
}

// ---- two-input ops ----

template <B K>
void infer_binary(InferContext& ctx) {
  const TensorInfo& a = ctx.input(0);
  const TensorInfo& b = ctx.input(1);
  SAVE_NODE_CHECK(a.dtype == b.dtype, ctx.node, "inputs must have the same type, got {} and {}",
                  dtype_name(a.dtype), dtype_name(b.dtype));
  SAVE_NODE_CHECK(accepts(K, a.dtype), ctx.node, "element type {} is not supported (want {})",
                  dtype_name(a.dtype), dtype_list_hint(K));
  const Shape bs = legacy_b_shape(ctx.node, ctx.opset, a.shape, b.shape);
  ctx.set_output(0, is_comparison(K) ? DType::kBool : a.dtype,
                 broadcast_shapes(a.shape, bs, ctx.node));
}

template <B K>
void reference_binary(const KernelContext& ctx) {
  const TensorView& a = ctx.inputs[0];
  const TensorView& b = ctx.inputs[1];
  const Shape bs = legacy_b_shape(ctx.node, ctx.opset, a.shape, b.shape);
  dispatch_dtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (accepts_type<T>(K)) {
      using TO = std::conditional_t<is_comparison(K), bool, T>;
      map2<T, T, TO>(a, a.shape, b, bs, ctx.outputs[0],
                     [&](T x, T y) { return static_cast<TO>(apply<K, T>(x, y, ctx.node)); });
    }
  });
}

// ---- variadic ops: Max Min Sum Mean ----

template <B K, bool kMean>
void infer_variadic(InferContext& ctx) {
  SAVE_NODE_CHECK(ctx.num_inputs() >= 1, ctx.node, "needs at least one input");
  const TensorInfo& first = ctx.input(0);
  SAVE_NODE_CHECK(kMean ? is_float(first.dtype) : accepts(K, first.dtype), ctx.node,
                  "element type {} is not supported", dtype_name(first.dtype));
  Shape out = first.shape;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const TensorInfo& in = ctx.input(i);
    SAVE_NODE_CHECK(in.dtype == first.dtype, ctx.node,
                    "all inputs must have the same type, input {} is {} but input 0 "
                    "is {}",
                    i, dtype_name(in.dtype), dtype_name(first.dtype));
    out = broadcast_shapes(out, in.shape, ctx.node);
  }
  ctx.set_output(0, first.dtype, out);
}

template <B K, bool kMean>
void reference_variadic(const KernelContext& ctx) {
  const TensorView& out = ctx.outputs[0];
  dispatch_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      // out = broadcast(in0), then out = out op in_k for each further input
      // (each output element reads only itself, so in place is safe).
      map2<T, T, T>(ctx.inputs[0], ctx.inputs[0].shape, ctx.inputs[0], ctx.inputs[0].shape, out,
                    [](T x, T) { return x; });
      for (size_t k = 1; k < ctx.inputs.size(); ++k)
        map2<T, T, T>(out, out.shape, ctx.inputs[k], ctx.inputs[k].shape, out,
                      [&](T x, T y) { return apply<K, T>(x, y, ctx.node); });
      if constexpr (kMean) {
        const T n = static_cast<T>(ctx.inputs.size());
        T* p = out.ptr<T>();
        for (int64_t i = 0; i < out.numel(); ++i) p[i] /= n;
      }
    }
  });
}

// ---- fast kernel ----

// Smallest output worth a oneDNN call (rough single-core measurements):
// Add/Sub/Mul on same-shape inputs vectorise in the reference and gain only
// from oneDNN's threads on large tensors; Div and the NaN-checking Max/Min
// are slower per element. A broadcast operand makes the reference's inner
// loop strided (a squeeze-excitation Mul [N,C,H,W] x [N,C,1,1] below 64k
// elements took 9% of MobileNetV3-Large there): oneDNN from 4096 elements.
constexpr int64_t kMinFastElemsBroadcast = 4096;
constexpr int64_t min_fast_elems(B k, bool broadcast) {
  if (broadcast) return kMinFastElemsBroadcast;
  return k == B::kAdd || k == B::kSub || k == B::kMul ? int64_t{1} << 16 : 4096;
}

dnnl::algorithm dnnl_alg(B k) {
  switch (k) {
    case B::kAdd:
      return dnnl::algorithm::binary_add;
    case B::kSub:
      return dnnl::algorithm::binary_sub;
    case B::kMul:
      return dnnl::algorithm::binary_mul;
    case B::kDiv:
      return dnnl::algorithm::binary_div;
    case B::kMax:
      return dnnl::algorithm::binary_max;
    case B::kMin:
      return dnnl::algorithm::binary_min;
    default:
      return dnnl::algorithm::undef;
  }
}

// dst = in[order[0]] op in[order[1]], then dst = dst op in[order[k]]; an
// optional linear post-op (alpha * x) on the last step (Mean's 1/N, Sub's
// negation after swapping operands).
class BinaryChainKernel : public Kernel {
 public:
  BinaryChainKernel(const PrepareContext& pc, dnnl::algorithm alg, const std::vector<Shape>& shapes,
                    const Shape& out, const std::vector<size_t>& order, float post_scale)
      : engine_(pc.engine), stream_(pc.stream) {
    dst_md_ = plain_desc(out, DType::kF32);
    for (size_t s = 1; s < order.size(); ++s) {
      Step st;
      st.src0 = s == 1 ? static_cast<int>(order[0]) : -1;
      st.src1 = static_cast<int>(order[s]);
      st.md0 = s == 1 ? plain_desc(shapes[order[0]], DType::kF32) : dst_md_;
      st.md1 = plain_desc(shapes[order[s]], DType::kF32);
      dnnl::primitive_attr attr;
      if (s + 1 == order.size() && post_scale != 1.f) {
        dnnl::post_ops po;
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, post_scale, 0.f);
        attr.set_post_ops(po);
      }
      dnnl::binary::desc d(alg, st.md0, st.md1, dst_md_);
      st.prim = dnnl::binary(dnnl::binary::primitive_desc(d, attr, *engine_));
      steps_.push_back(std::move(st));
    }
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory dst(dst_md_, *engine_, ctx.outputs[0].data);
    for (const Step& st : steps_) {
      dnnl::memory s0 =
          st.src0 < 0 ? dst : dnnl::memory(st.md0, *engine_, ctx.inputs[st.src0].data);
      dnnl::memory s1(st.md1, *engine_, ctx.inputs[st.src1].data);
      st.prim.execute(*stream_, {{DNNL_ARG_SRC_0, s0}, {DNNL_ARG_SRC_1, s1}, {DNNL_ARG_DST, dst}});
    }
    stream_->wait();
  }

 private:
  struct Step {
    int src0 = -1;  // input index, or -1 for the destination (in place)
    int src1 = 0;
    dnnl::memory::desc md0, md1;
    dnnl::binary prim;
  };
  dnnl::engine* engine_;
  dnnl::stream* stream_;
  dnnl::memory::desc dst_md_;
  std::vector<Step> steps_;
};

// `shapes` are the inputs' (effective) shapes; the output's is their
// broadcast. Returns nullptr when oneDNN cannot do it.
std::unique_ptr<Kernel> make_chain(const PrepareContext& pc, B k, std::vector<Shape> shapes,
                                   bool mean) {
  for (const TensorInfo* in : pc.inputs)
    if (in == nullptr || in->dtype != DType::kF32) return nullptr;
  if (shapes.size() < 2) return nullptr;  // a copy: the reference does it
  const Shape& out = pc.outputs[0]->shape;
  if (out.size() > 6) return nullptr;
  const size_t rank = std::max<size_t>(out.size(), 1);
  const Shape out_p = pad_to_rank(out, rank);
  for (Shape& s : shapes) s = pad_to_rank(s, rank);
  const bool broadcast =
      std::any_of(shapes.begin(), shapes.end(), [&](const Shape& s) { return s != out_p; });
  if (shape_numel(out) < min_fast_elems(k, broadcast)) return nullptr;
  // The first source must have the output's full shape.
  size_t first = shapes.size();
  for (size_t i = 0; i < shapes.size(); ++i)
    if (shapes[i] == out_p) {
      first = i;
      break;
    }
  if (first == shapes.size()) return nullptr;
  float post_scale = mean ? 1.f / static_cast<float>(shapes.size()) : 1.f;
  if (first != 0) {
    if (k == B::kDiv) return nullptr;
    if (k == B::kSub) post_scale = -1.f;  // a - b = -(b - a)
  }
  std::vector<size_t> order{first};
  for (size_t i = 0; i < shapes.size(); ++i)
    if (i != first) order.push_back(i);
  try {
    return std::make_unique<BinaryChainKernel>(pc, dnnl_alg(k), shapes, out_p, order, post_scale);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

template <B K>
std::unique_ptr<Kernel> make_fast_binary(const PrepareContext& pc) {
  if (!pc.has_input(0) || !pc.has_input(1)) return nullptr;
  const Shape& a = pc.inputs[0]->shape;
  return make_chain(pc, K, {a, legacy_b_shape(pc.node, pc.opset, a, pc.inputs[1]->shape)}, false);
}

template <B K, bool kMean>
std::unique_ptr<Kernel> make_fast_variadic(const PrepareContext& pc) {
  std::vector<Shape> shapes;
  for (const TensorInfo* in : pc.inputs) {
    if (in == nullptr) return nullptr;
    shapes.push_back(in->shape);
  }
  return make_chain(pc, K, std::move(shapes), kMean);
}

// Interval rules: Add/Sum/Mean non-decreasing in every input, Max/Min too
// (and they only select), Sub non-increasing in B, Mul/Div at the corners.
void interval_sub(const IntervalContext& ctx) {
  const int8_t signs[] = {1, -1};
  monotone(ctx, signs);
}

const OpDef kAdd{
    "Add", &infer_binary<B::kAdd>, &reference_binary<B::kAdd>, &make_fast_binary<B::kAdd>,
    false, &interval_monotone};
const OpDef kSub{
    "Sub", &infer_binary<B::kSub>, &reference_binary<B::kSub>, &make_fast_binary<B::kSub>,
    false, &interval_sub};
const OpDef kMul{
    "Mul",   &infer_binary<B::kMul>, &reference_binary<B::kMul>, &make_fast_binary<B::kMul>, false,
    &corners};
const OpDef kDiv{
    "Div",   &infer_binary<B::kDiv>, &reference_binary<B::kDiv>, &make_fast_binary<B::kDiv>, false,
    &corners};
// Comparisons mostly feed masks and shape logic on small tensors: no fast
// kernel.
const OpDef kEqual{"Equal", &infer_binary<B::kEqual>, &reference_binary<B::kEqual>};
const OpDef kGreater{"Greater", &infer_binary<B::kGreater>, &reference_binary<B::kGreater>};
const OpDef kLess{"Less", &infer_binary<B::kLess>, &reference_binary<B::kLess>};
const OpDef kGreaterEq{"GreaterOrEqual", &infer_binary<B::kGreaterEq>,
                       &reference_binary<B::kGreaterEq>};
const OpDef kLessEq{"LessOrEqual", &infer_binary<B::kLessEq>, &reference_binary<B::kLessEq>};
const OpDef kMax{"Max",
                 &infer_variadic<B::kMax, false>,
                 &reference_variadic<B::kMax, false>,
                 &make_fast_variadic<B::kMax, false>,
                 false,
                 &interval_copy};
const OpDef kMin{"Min",
                 &infer_variadic<B::kMin, false>,
                 &reference_variadic<B::kMin, false>,
                 &make_fast_variadic<B::kMin, false>,
                 false,
                 &interval_copy};
const OpDef kSum{"Sum",
                 &infer_variadic<B::kAdd, false>,
                 &reference_variadic<B::kAdd, false>,
                 &make_fast_variadic<B::kAdd, false>,
                 false,
                 &interval_monotone};
const OpDef kMean{"Mean",
                  &infer_variadic<B::kAdd, true>,
                  &reference_variadic<B::kAdd, true>,
                  &make_fast_variadic<B::kAdd, true>,
                  false,
                  &interval_monotone};

}  // namespace

void register_binary_ops(OpRegistry& r) {
  for (const OpDef* d : {&kAdd, &kSub, &kMul, &kDiv, &kEqual, &kGreater, &kLess, &kGreaterEq,
                         &kLessEq, &kMax, &kMin, &kSum, &kMean})
    r.add(*d);
}

}  // namespace save
