// Softmax and LogSoftmax. Opset >= 13 normalises along one axis (default
// -1); older opsets coerce the input to 2-D at `axis` (default 1) and
// normalise over everything from `axis` on. Both reduce to the same view:
// [outer, n, inner] normalised over n (inner == 1 for the old semantics).
// The fast kernel is oneDNN's softmax_v2 on that 3-D view.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

struct SoftmaxView {
  int64_t outer = 1, n = 1, inner = 1;
};

SoftmaxView softmax_view(std::span<const int64_t> shape, const Node& node, int64_t opset) {
  const auto rank = static_cast<int64_t>(shape.size());
  const bool legacy = opset < 13;
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", legacy ? 1 : -1), rank, node);
  SoftmaxView v;
  if (rank == 0) return v;
  for (int64_t i = 0; i < axis; ++i) v.outer *= shape[i];
  if (legacy) {
    for (int64_t i = axis; i < rank; ++i) v.n *= shape[i];
  } else {
    v.n = shape[axis];
    for (int64_t i = axis + 1; i < rank; ++i) v.inner *= shape[i];
  }
  return v;
}

void softmax_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "expected a float tensor, got {}",
                  dtype_name(x.dtype));
  softmax_view(x.shape, ctx.node, ctx.opset);  // validates the axis
  ctx.set_output(0, x.dtype, x.shape);
}

template <typename T, bool kLog>
void softmax_typed(const KernelContext& ctx) {
  const SoftmaxView v = softmax_view(ctx.inputs[0].shape, ctx.node, ctx.opset);
  const T* x = ctx.inputs[0].ptr<const T>();
  T* y = ctx.outputs[0].ptr<T>();
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t in = 0; in < v.inner; ++in) {
      const int64_t base = o * v.n * v.inner + in;
      // Subtract the max so exp never overflows (the "large number" case).
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < v.n; ++j) mx = std::max(mx, x[base + j * v.inner]);
      double sum = 0;
      for (int64_t j = 0; j < v.n; ++j)
        sum += std::exp(static_cast<double>(x[base + j * v.inner]) - static_cast<double>(mx));
      for (int64_t j = 0; j < v.n; ++j) {
        const double d = static_cast<double>(x[base + j * v.inner]) - static_cast<double>(mx);
        y[base + j * v.inner] = static_cast<T>(kLog ? d - std::log(sum) : std::exp(d) / sum);
      }
    }
  }
}

template <bool kLog>
void softmax_reference(const KernelContext& ctx) {
  switch (ctx.inputs[0].dtype) {
    case DType::kF32:
      return softmax_typed<float, kLog>(ctx);
    case DType::kF64:
      return softmax_typed<double, kLog>(ctx);
    default:
      node_fail(ctx.node, "unsupported type {}", dtype_name(ctx.inputs[0].dtype));
  }
}

class DnnlSoftmax final : public Kernel {
 public:
  DnnlSoftmax(const PrepareContext& pc, const SoftmaxView& v, bool log)
      : engine_(*pc.engine), stream_(*pc.stream) {
    md_ = dnnl::memory::desc({v.outer, v.n, v.inner}, dnnl::memory::data_type::f32,
                             dnnl::memory::format_tag::abc);
    const dnnl::softmax_v2_forward::desc d(
        dnnl::prop_kind::forward_inference,
        log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate, md_, md_, 1);
    prim_ = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(d, engine_));
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory src(md_, engine_, ctx.inputs[0].data), dst(md_, engine_, ctx.outputs[0].data);
    prim_.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc md_;
  dnnl::softmax_v2_forward prim_;
};

template <bool kLog>
std::unique_ptr<Kernel> softmax_make_fast(const PrepareContext& pc) {
  if (pc.inputs[0]->dtype != DType::kF32) return nullptr;
  const SoftmaxView v = softmax_view(pc.inputs[0]->shape, pc.node, pc.opset);
  if (v.outer == 0 || v.n == 0 || v.inner == 0) return nullptr;
  try {
    return std::make_unique<DnnlSoftmax>(pc, v, kLog);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Interval rule. softmax_i = 1 / (1 + sum_{j != i} e^{x_j - x_i}) grows with
// x_i and shrinks with every other x_j, so over a box
//   lo_i = 1 / (1 + sum_{j != i} e^{hi_j - lo_i}),
//   hi_i = 1 / (1 + sum_{j != i} e^{lo_j - hi_i});
// log_softmax_i = -log(1 + sum_{j != i} e^{x_j - x_i}) likewise. The
// leave-one-out sums come from prefix/suffix sums scaled by the row max (no
// cancellation, no overflow).
template <bool kLog>
void softmax_interval(const IntervalContext& ctx) {
  if (!ctx.known(0) || ctx.lo[0].dtype != DType::kF32) return ctx.decline();
  const SoftmaxView v = softmax_view(ctx.lo[0].shape, ctx.node, ctx.opset);
  const float* lo = ctx.lo[0].ptr<const float>();
  const float* hi = ctx.hi[0].ptr<const float>();
  float* out_lo = ctx.out_lo[0].ptr<float>();
  float* out_hi = ctx.out_hi[0].ptr<float>();
  const auto n = static_cast<size_t>(v.n);
  std::vector<double> pre(n + 1), suf(n + 1), log_others_hi(n), log_others_lo(n);
  // log(sum_{j != i} e^{x_j}) for every i.
  auto leave_one_out = [&](const float* x, int64_t base, std::vector<double>& out) {
    double m = -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(x[base + j * v.inner]));
    pre[0] = 0;
    for (size_t j = 0; j < n; ++j)
      pre[j + 1] = pre[j] + std::exp(static_cast<double>(x[base + j * v.inner]) - m);
    suf[n] = 0;
    for (size_t j = n; j-- > 0;)
      suf[j] = suf[j + 1] + std::exp(static_cast<double>(x[base + j * v.inner]) - m);
    for (size_t i = 0; i < n; ++i) out[i] = std::log(pre[i] + suf[i + 1]) + m;
  };
  for (int64_t o = 0; o < v.outer; ++o) {
    for (int64_t in = 0; in < v.inner; ++in) {
      const int64_t base = o * v.n * v.inner + in;
      bool finite = true;
      for (size_t j = 0; j < n; ++j)
        finite &= std::isfinite(lo[base + j * v.inner]) && std::isfinite(hi[base + j * v.inner]);
      for (size_t i = 0; i < n; ++i) {
        const int64_t e = base + static_cast<int64_t>(i) * v.inner;
        // Unbounded inputs: only the range of the function itself.
        out_lo[e] = kLog ? -std::numeric_limits<float>::infinity() : 0.f;
        out_hi[e] = kLog ? 0.f : 1.f;
      }
      if (!finite) continue;
      leave_one_out(hi, base, log_others_hi);
      leave_one_out(lo, base, log_others_lo);
      for (size_t i = 0; i < n; ++i) {
        const int64_t e = base + static_cast<int64_t>(i) * v.inner;
        const double t_lo = log_others_hi[i] - lo[e];  // n == 1: -inf, softmax exactly 1
        const double t_hi = log_others_lo[i] - hi[e];
        if (kLog) {
          out_lo[e] = static_cast<float>(-std::log1p(std::exp(t_lo)));
          out_hi[e] = static_cast<float>(-std::log1p(std::exp(t_hi)));
        } else {
          out_lo[e] = static_cast<float>(1.0 / (1.0 + std::exp(t_lo)));
          out_hi[e] = static_cast<float>(1.0 / (1.0 + std::exp(t_hi)));
        }
      }
    }
  }
}

const OpDef kSoftmax{
    "Softmax", softmax_infer,          softmax_reference<false>, softmax_make_fast<false>,
    false,     softmax_interval<false>};
const OpDef kLogSoftmax{
    "LogSoftmax", softmax_infer,         softmax_reference<true>, softmax_make_fast<true>,
    false,        softmax_interval<true>};

}  // namespace

void register_softmax_ops(OpRegistry& r) {
  r.add(kSoftmax);
  r.add(kLogSoftmax);
}

}  // namespace save
