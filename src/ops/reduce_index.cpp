// Reductions along one axis that produce indices or running values (family
// reduce): ArgMax ArgMin CumSum TopK. All views are [outer, n, inner] with
// the axis in the middle. No oneDNN primitive matches these, so the
// reference kernels are the only ones.
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisView axis_view(std::span<const int64_t> shape, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) v.outer *= shape[i];
    if (i == axis) v.n = shape[i];
    if (i > axis) v.inner *= shape[i];
  }
  return v;
}

using mv::view_ints;  // shared with the data-movement ops

// ------------------------------------------------------- ArgMax / ArgMin

void arg_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  const auto rank = static_cast<int64_t>(x.shape.size());
  SAVE_NODE_CHECK(rank >= 1, ctx.node, "input must have rank >= 1");
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 0), rank, ctx.node);
  SAVE_NODE_CHECK(x.shape[axis] > 0, ctx.node, "cannot take the arg of an empty axis {} of {}",
                  axis, shape_str(x.shape));
  const bool keep = ctx.attrs().get_int("keepdims", 1) != 0;
  Shape out;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) {
      out.push_back(x.shape[i]);
    } else if (keep) {
      out.push_back(1);
    }
  }
  ctx.set_output(0, DType::kI64, out);
}

template <bool kMax>
void arg_reference(const KernelContext& ctx) {
  const TensorView& X = ctx.inputs[0];
  const int64_t axis =
      normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(X.rank()), ctx.node);
  const bool last = ctx.attrs().get_int("select_last_index", 0) != 0;
  const AxisView v = axis_view(X.shape, axis);
  int64_t* y = ctx.outputs[0].ptr<int64_t>();
  dispatch_dtype(X.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = X.ptr<const T>();
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t in = 0; in < v.inner; ++in) {
        const T* p = x + o * v.n * v.inner + in;
        int64_t best = 0;
        for (int64_t j = 1; j < v.n; ++j) {
          const T a = p[j * v.inner], b = p[best * v.inner];
          // Ties keep the first index unless select_last_index asks for the last.
          const bool better = kMax ? (a > b || (last && a == b)) : (a < b || (last && a == b));
          if (better) best = j;
        }
        y[o * v.inner + in] = best;
      }
    }
  });
}

// ---------------------------------------------------------------- CumSum

void cumsum_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.dtype != DType::kBool, ctx.node, "bool input is not supported");
  const TensorInfo& axis = ctx.input(1);
  SAVE_NODE_CHECK(shape_numel(axis.shape) == 1 && axis.shape.size() <= 1 &&
                      (axis.dtype == DType::kI64 || axis.dtype == DType::kI32),
                  ctx.node, "axis must be an int32/int64 scalar, got {} {}", dtype_name(axis.dtype),
                  shape_str(axis.shape));
  SAVE_NODE_CHECK(!x.shape.empty(), ctx.node, "input must have rank >= 1");
  if (ctx.has_input(1) && ctx.constants.size() > 1 && ctx.constants[1] != nullptr)
    normalize_axis(ctx.constants[1]->to_int64()[0], static_cast<int64_t>(x.shape.size()), ctx.node);
  ctx.set_output(0, x.dtype, x.shape);
}

void cumsum_reference(const KernelContext& ctx) {
  const TensorView& X = ctx.inputs[0];
  const int64_t axis =
      normalize_axis(view_ints(ctx.inputs[1]).at(0), static_cast<int64_t>(X.rank()), ctx.node);
  const bool exclusive = ctx.attrs().get_int("exclusive", 0) != 0;
  const bool reverse = ctx.attrs().get_int("reverse", 0) != 0;
  const AxisView v = axis_view(X.shape, axis);
  dispatch_dtype(X.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      node_fail(ctx.node, "bool input is not supported");
    } else {
      // Running sums stay in T, as ONNX Runtime does.
      const T* x = X.ptr<const T>();
      T* y = ctx.outputs[0].ptr<T>();
      for (int64_t o = 0; o < v.outer; ++o) {
        for (int64_t in = 0; in < v.inner; ++in) {
          const int64_t base = o * v.n * v.inner + in;
          T sum{0};
          for (int64_t s = 0; s < v.n; ++s) {
            const int64_t j = reverse ? v.n - 1 - s : s;
            const T xv = x[base + j * v.inner];
            if (!exclusive) sum = static_cast<T>(sum + xv);
            y[base + j * v.inner] = sum;
            if (exclusive) sum = static_cast<T>(sum + xv);
          }
        }
      }
    }
  });
}

// ------------------------------------------------------------------ TopK

int64_t topk_k(const InferContext& ctx) {
  if (ctx.opset < 10 || (!ctx.has_input(1) && ctx.attrs().has("k"))) return ctx.attrs().int_("k");
  const Tensor& k = ctx.constant(1);
  SAVE_NODE_CHECK(k.numel() == 1, ctx.node, "K must hold one value, got shape {}",
                  shape_str(k.shape()));
  return k.to_int64()[0];
}

void topk_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  const auto rank = static_cast<int64_t>(x.shape.size());
  SAVE_NODE_CHECK(rank >= 1, ctx.node, "input must have rank >= 1");
  SAVE_NODE_CHECK(x.dtype != DType::kBool, ctx.node, "bool input is not supported");
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", -1), rank, ctx.node);
  const int64_t k = topk_k(ctx);
  SAVE_NODE_CHECK(k >= 0 && k <= x.shape[axis], ctx.node,
                  "K={} is out of range for axis {} of shape {}", k, axis, shape_str(x.shape));
  Shape out = x.shape;
  out[axis] = k;
  ctx.set_output(0, x.dtype, out);
  ctx.set_output(1, DType::kI64, out);
}

void topk_reference(const KernelContext& ctx) {
  const TensorView& X = ctx.inputs[0];
  const int64_t axis =
      normalize_axis(ctx.attrs().get_int("axis", -1), static_cast<int64_t>(X.rank()), ctx.node);
  const bool largest = ctx.attrs().get_int("largest", 1) != 0;
  const AxisView v = axis_view(X.shape, axis);
  // K is the output's extent along the axis (fixed by the shape rule).
  const TensorView& Y = ctx.outputs[0];
  const TensorView& I = ctx.outputs[1];
  const int64_t k = Y.present() ? Y.shape[axis] : I.shape[axis];
  dispatch_dtype(X.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = X.ptr<const T>();
    std::vector<int64_t> order(static_cast<size_t>(v.n));
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t in = 0; in < v.inner; ++in) {
        const T* p = x + o * v.n * v.inner + in;
        std::iota(order.begin(), order.end(), 0);
        // Equal values keep the lower index first (ONNX's tie rule); the
        // output is sorted even when sorted=0, which leaves order open.
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
          const T va = p[a * v.inner], vb = p[b * v.inner];
          if (va != vb) return largest ? va > vb : va < vb;
          return a < b;
        });
        const int64_t base = o * k * v.inner + in;
        for (int64_t j = 0; j < k; ++j) {
          if (Y.data != nullptr) Y.ptr<T>()[base + j * v.inner] = p[order[j] * v.inner];
          if (I.data != nullptr) I.ptr<int64_t>()[base + j * v.inner] = order[j];
        }
      }
    }
  });
}

const OpDef kArgMax{"ArgMax", arg_infer, arg_reference<true>};
const OpDef kArgMin{"ArgMin", arg_infer, arg_reference<false>};
// Interval rules: running sums are non-decreasing in every element; so are
// order statistics (TopK's values; its indices are left unknown).
const OpDef kCumSum{"CumSum", cumsum_infer, cumsum_reference, nullptr, false, interval_sum};
const OpDef kTopK{"TopK", topk_infer, topk_reference, nullptr, false, interval_copy};

}  // namespace

void register_reduce_index_ops(OpRegistry& r) {
  r.add(kArgMax);
  r.add(kArgMin);
  r.add(kCumSum);
  r.add(kTopK);
}

}  // namespace save
