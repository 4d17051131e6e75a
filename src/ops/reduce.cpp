// Reductions: ReduceMax ReduceMin ReduceMean ReduceSum ReduceProd
// ReduceSumSquare ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp (ArgMax,
// ArgMin, CumSum and TopK live in reduce_index.cpp). `axes` is an attribute
// up to opset 17 (12 for ReduceSum) and an optional input after; both forms
// are accepted whatever the opset. The fast kernel is oneDNN's reduction
// primitive on float32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

enum class RK { kMax, kMin, kMean, kSum, kProd, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

// Which dims are reduced. `noop` (empty axes with noop_with_empty_axes=1)
// makes the op an identity.
struct ReducePlan {
  std::vector<bool> reduced;
  bool noop = false;
  Shape kept;  // the output with keepdims=1 (reduced dims are 1)
  Shape out;   // the ONNX output shape
};

ReducePlan reduce_plan(const Node& node, std::span<const int64_t> shape,
                       const std::vector<int64_t>* axes_input) {
  const auto rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes;
  if (node.attrs.has("axes")) {
    axes = node.attrs.get_ints("axes");
  } else if (axes_input != nullptr) {
    axes = *axes_input;
  }
  ReducePlan p;
  p.reduced.assign(shape.size(), false);
  if (axes.empty()) {
    if (node.attrs.get_int("noop_with_empty_axes", 0) != 0) {
      p.noop = true;
    } else {
      p.reduced.assign(shape.size(), true);
    }
  }
  for (int64_t a : axes) {
    const int64_t ax = normalize_axis(a, rank, node);
    SAVE_NODE_CHECK(!p.reduced[ax], node, "axis {} is repeated in axes", a);
    p.reduced[ax] = true;
  }
  const bool keep = node.attrs.get_int("keepdims", 1) != 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    p.kept.push_back(p.reduced[i] ? 1 : shape[i]);
    if (!p.reduced[i] || keep) p.out.push_back(p.kept.back());
  }
  if (p.noop) p.out.assign(shape.begin(), shape.end());
  return p;
}

using mv::view_ints;  // shared with the data-movement ops

void reduce_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.dtype != DType::kBool, ctx.node, "bool input is not supported");
  std::vector<int64_t> axes;
  const bool from_input = !ctx.attrs().has("axes") && ctx.has_input(1);
  if (from_input) axes = ctx.constant(1).to_int64();
  const ReducePlan p = reduce_plan(ctx.node, x.shape, from_input ? &axes : nullptr);
  ctx.set_output(0, x.dtype, p.out);
}

ReducePlan kernel_plan(const KernelContext& ctx) {
  std::vector<int64_t> axes;
  const bool from_input = !ctx.attrs().has("axes") && ctx.has_input(1);
  if (from_input) axes = view_ints(ctx.inputs[1]);
  return reduce_plan(ctx.node, ctx.inputs[0].shape, from_input ? &axes : nullptr);
}

template <RK K, typename T>
void reduce_typed(const KernelContext& ctx) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const TensorView& X = ctx.inputs[0];
  const T* x = X.ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  const ReducePlan p = kernel_plan(ctx);
  const int64_t n = X.numel();
  if (p.noop) {
    std::copy(x, x + n, y);
    return;
  }
  // Output offset of each input element: kept-shape strides, 0 on reduced dims.
  std::vector<int64_t> ost = shape_strides(p.kept);
  for (size_t i = 0; i < ost.size(); ++i)
    if (p.reduced[i]) ost[i] = 0;
  const int64_t on = shape_numel(p.kept);
  const int64_t count = on == 0 ? 0 : n / on;
  Acc init{0};
  if constexpr (K == RK::kProd) init = 1;
  if constexpr (K == RK::kMax)
    init = std::is_floating_point_v<T> ? -std::numeric_limits<Acc>::infinity()
                                       : static_cast<Acc>(std::numeric_limits<T>::lowest());
  if constexpr (K == RK::kMin)
    init = std::is_floating_point_v<T> ? std::numeric_limits<Acc>::infinity()
                                       : static_cast<Acc>(std::numeric_limits<T>::max());
  std::vector<Acc> acc(static_cast<size_t>(on), init);
  std::vector<int64_t> idx(X.rank(), 0);
  int64_t o = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Acc v = static_cast<Acc>(x[i]);
    Acc& a = acc[static_cast<size_t>(o)];
    if constexpr (K == RK::kMax) a = std::max(a, v);
    if constexpr (K == RK::kMin) a = std::min(a, v);
    if constexpr (K == RK::kMean || K == RK::kSum || K == RK::kLogSum) a += v;
    if constexpr (K == RK::kProd) a *= v;
    if constexpr (K == RK::kSumSquare || K == RK::kL2) a += v * v;
    if constexpr (K == RK::kL1) a += v < 0 ? -v : v;
    if constexpr (K == RK::kLogSumExp) a += std::exp(static_cast<double>(v));
    for (size_t d = idx.size(); d-- > 0;) {
      o += ost[d];
      if (++idx[d] < X.shape[d]) break;
      o -= ost[d] * X.shape[d];
      idx[d] = 0;
    }
  }
  for (int64_t j = 0; j < on; ++j) {
    const Acc a = acc[static_cast<size_t>(j)];
    double r = static_cast<double>(a);
    if constexpr (K == RK::kMean) r = count == 0 ? std::nan("") : r / static_cast<double>(count);
    if constexpr (K == RK::kL2) r = std::sqrt(r);
    if constexpr (K == RK::kLogSum || K == RK::kLogSumExp) r = std::log(r);
    // Integer results other than Mean/L2/logs stay exact in Acc.
    if constexpr (std::is_integral_v<T>) {
      if constexpr (K != RK::kMean && K != RK::kL2 && K != RK::kLogSum && K != RK::kLogSumExp) {
        y[j] = static_cast<T>(a);
        continue;
      }
    }
    if constexpr (std::is_integral_v<T>) {
      // Mean/L2/logs of integers: saturated to T, NaN as 0. A plain cast of
      // a non-finite or out-of-range double is UB (fuzz_model: ReduceLogSum
      // of int8 zeros is -inf).
      // (`>=` at the top: int64's max rounds up to 2^63 as a double.)
      constexpr T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      y[j] = std::isnan(r)                  ? T{0}
             : r <= static_cast<double>(lo) ? lo
             : r >= static_cast<double>(hi) ? hi
                                            : static_cast<T>(r);
      continue;
    }
    y[j] = static_cast<T>(r);
  }
}

template <RK K>
void reduce_reference(const KernelContext& ctx) {
  dispatch_dtype(ctx.inputs[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      node_fail(ctx.node, "bool input is not supported");
    } else {
      reduce_typed<K, T>(ctx);
    }
  });
}

class DnnlReduction final : public Kernel {
 public:
  DnnlReduction(const PrepareContext& pc, dnnl::algorithm alg, float p, const Shape& in,
                const Shape& kept)
      : engine_(*pc.engine), stream_(*pc.stream) {
    src_ = plain_desc(in, DType::kF32);
    dst_ = plain_desc(kept, DType::kF32);
    const dnnl::reduction::desc d(alg, src_, dst_, p, 0.f);
    prim_ = dnnl::reduction(dnnl::reduction::primitive_desc(d, engine_));
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory src(src_, engine_, ctx.inputs[0].data), dst(dst_, engine_, ctx.outputs[0].data);
    prim_.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc src_, dst_;
  dnnl::reduction prim_;
};

template <RK K>
std::unique_ptr<Kernel> reduce_make_fast(const PrepareContext& pc) {
  dnnl::algorithm alg;
  float p = 0.f;
  switch (K) {
    case RK::kMax:
      alg = dnnl::algorithm::reduction_max;
      break;
    case RK::kMin:
      alg = dnnl::algorithm::reduction_min;
      break;
    case RK::kMean:
      alg = dnnl::algorithm::reduction_mean;
      break;
    case RK::kSum:
      alg = dnnl::algorithm::reduction_sum;
      break;
    case RK::kProd:
      alg = dnnl::algorithm::reduction_mul;
      break;
    case RK::kSumSquare:
      alg = dnnl::algorithm::reduction_norm_lp_power_p_sum;
      p = 2.f;
      break;
    case RK::kL2:
      alg = dnnl::algorithm::reduction_norm_lp_sum;
      p = 2.f;
      break;
    default:
      return nullptr;
  }
  const TensorInfo& x = *pc.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.empty() || x.shape.size() > 6) return nullptr;
  if (shape_numel(x.shape) == 0) return nullptr;
  std::vector<int64_t> axes;
  const bool from_input = !pc.attrs().has("axes") && pc.has_input(1);
  if (from_input) {
    if (pc.constants.size() < 2 || pc.constants[1] == nullptr) return nullptr;
    axes = pc.constants[1]->to_int64();
  }
  const ReducePlan plan = reduce_plan(pc.node, x.shape, from_input ? &axes : nullptr);
  if (plan.noop || plan.kept == x.shape) return nullptr;  // a copy, not a reduction
  try {
    return std::make_unique<DnnlReduction>(pc, alg, p, x.shape, plan.kept);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Interval rules: Max/Min select, Mean/Sum/LogSum/LogSumExp are
// non-decreasing in every element (Mean/Sum add a sum's rounding
// allowance: interval_sum; LogSum/LogSumExp: the relative margin); Prod, SumSquare, L1, L2 are not
// monotone (left unbounded).
// L1, LogSum and LogSumExp have no oneDNN reduction: their OpDefs say so
// (no fast kernel) rather than carry a factory that always declines.
constexpr bool has_fast_reduce(RK k) {
  return k != RK::kL1 && k != RK::kLogSum && k != RK::kLogSumExp;
}
#define SAVE_REDUCE_OP(var, name, kind, rule)                                \
  const OpDef var{name,                                                      \
                  reduce_infer,                                              \
                  reduce_reference<kind>,                                    \
                  has_fast_reduce(kind) ? &reduce_make_fast<kind> : nullptr, \
                  false,                                                     \
                  rule};
SAVE_REDUCE_OP(kReduceMax, "ReduceMax", RK::kMax, interval_copy)
SAVE_REDUCE_OP(kReduceMin, "ReduceMin", RK::kMin, interval_copy)
SAVE_REDUCE_OP(kReduceMean, "ReduceMean", RK::kMean, interval_sum)
SAVE_REDUCE_OP(kReduceSum, "ReduceSum", RK::kSum, interval_sum)
SAVE_REDUCE_OP(kReduceProd, "ReduceProd", RK::kProd, nullptr)
SAVE_REDUCE_OP(kReduceSumSquare, "ReduceSumSquare", RK::kSumSquare, nullptr)
SAVE_REDUCE_OP(kReduceL1, "ReduceL1", RK::kL1, nullptr)
SAVE_REDUCE_OP(kReduceL2, "ReduceL2", RK::kL2, nullptr)
SAVE_REDUCE_OP(kReduceLogSum, "ReduceLogSum", RK::kLogSum, interval_monotone)
SAVE_REDUCE_OP(kReduceLogSumExp, "ReduceLogSumExp", RK::kLogSumExp, interval_monotone)
#undef SAVE_REDUCE_OP

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  for (const OpDef* d :
       {&kReduceMax, &kReduceMin, &kReduceMean, &kReduceSum, &kReduceProd, &kReduceSumSquare,
        &kReduceL1, &kReduceL2, &kReduceLogSum, &kReduceLogSumExp})
    r.add(*d);
}

}  // namespace save
