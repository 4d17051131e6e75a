// Shape-manipulating ops: Shape Reshape Flatten Squeeze Unsqueeze Transpose
// Constant ConstantOfShape Range. Reshape-like ops only move bytes (the
// planner may alias them); Transpose has a oneDNN reorder as fast kernel.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <span>
#include <type_traits>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

// Output = input bytes (Reshape, Flatten, Squeeze, Unsqueeze).
void copy_bytes(const KernelContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  if (out.data != in.data && in.nbytes() > 0) std::memcpy(out.data, in.data, in.nbytes());
}

// ---- Shape ----
// Opset 15 added start/end (clamped like Slice); earlier, the whole shape.
std::pair<int64_t, int64_t> shape_range(const Attributes& a, int64_t rank) {
  int64_t start = a.get_int("start", 0), end = a.get_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return {start, std::max(start, end)};
}

void shape_infer(InferContext& ctx) {
  auto [s, e] = shape_range(ctx.attrs(), static_cast<int64_t>(ctx.input(0).shape.size()));
  ctx.set_output(0, DType::kI64, {e - s});
}

void shape_ref(const KernelContext& ctx) {
  const TensorView& in = ctx.inputs[0];
  auto [s, e] = shape_range(ctx.attrs(), static_cast<int64_t>(in.rank()));
  int64_t* out = ctx.outputs[0].ptr<int64_t>();
  for (int64_t i = s; i < e; ++i) out[i - s] = in.shape[static_cast<size_t>(i)];
}

// ---- Reshape ----
void reshape_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  std::vector<int64_t> target;
  if (ctx.attrs().has("shape") || ctx.opset < 5) {
    target = ctx.attrs().ints("shape");  // Reshape-1: shape is an attribute
  } else {
    SAVE_NODE_CHECK(ctx.has_input(1), n, "the target shape (input 1) is required");
    const Tensor& t = ctx.constant(1);
    SAVE_NODE_CHECK(t.rank() == 1, n, "the target shape must be 1-D, got shape {}",
                    shape_str(t.shape()));
    target = t.to_int64();
  }
  bool allowzero = ctx.attrs().get_int("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      SAVE_NODE_CHECK(infer_at < 0, n, "target shape {} has more than one -1", shape_str(target));
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (d == 0 && !allowzero) {
      SAVE_NODE_CHECK(i < x.shape.size(), n,
                      "target shape {} copies dim {} (0) but the input {} has no such dim",
                      shape_str(target), i, shape_str(x.shape));
      d = x.shape[i];
    }
    SAVE_NODE_CHECK(d >= 0, n, "invalid dim {} in target shape {}", d, shape_str(target));
    out[i] = d;
    // fuzz_model: a target like [363, 2^57] wrapped the product (UB).
    SAVE_NODE_CHECK(!__builtin_mul_overflow(known, d, &known), n,
                    "target shape {} has more than 2^63 elements", shape_str(target));
  }
  int64_t total = shape_numel(x.shape);
  if (infer_at >= 0) {
    SAVE_NODE_CHECK(known != 0 && total % known == 0, n,
                    "cannot reshape {} to {}: the -1 dim cannot be inferred", shape_str(x.shape),
                    shape_str(target));
    out[static_cast<size_t>(infer_at)] = total / known;
  }
  SAVE_NODE_CHECK(shape_numel(out) == total, n, "cannot reshape {} ({} elements) to {}",
                  shape_str(x.shape), total, shape_str(out));
  ctx.set_output(0, x.dtype, std::move(out));
}

// ---- Flatten ----
void flatten_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  int64_t r = static_cast<int64_t>(x.shape.size());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  SAVE_NODE_CHECK(axis >= -r && axis <= r, ctx.node, "axis {} out of range for rank {}", axis, r);
  if (axis < 0) axis += r;
  // Checked products: with a 0 dim elsewhere, one side can overflow.
  const std::span<const int64_t> dims(x.shape);
  const int64_t a = shape_numel(dims.first(static_cast<size_t>(axis)));
  const int64_t b = shape_numel(dims.subspan(static_cast<size_t>(axis)));
  ctx.set_output(0, x.dtype, {a, b});
}

// ---- Squeeze / Unsqueeze ----
// Axes are an attribute before opset 13 and an (optional for Squeeze) input
// from 13; either form is accepted.
std::optional<std::vector<int64_t>> axes_of(const InferContext& ctx) {
  if (ctx.attrs().has("axes")) return ctx.attrs().ints("axes");
  if (ctx.has_input(1)) return ctx.constant(1).to_int64();
  return std::nullopt;
}

void squeeze_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  int64_t r = static_cast<int64_t>(x.shape.size());
  std::vector<bool> drop(x.shape.size(), false);
  auto axes = axes_of(ctx);
  if (axes && !axes->empty()) {
    for (int64_t a : *axes) {
      int64_t k = normalize_axis(a, r, n);
      SAVE_NODE_CHECK(x.shape[static_cast<size_t>(k)] == 1, n,
                      "cannot squeeze axis {} of shape {}: its size is not 1", a,
                      shape_str(x.shape));
      drop[static_cast<size_t>(k)] = true;
    }
  } else {
    for (size_t i = 0; i < x.shape.size(); ++i) drop[i] = x.shape[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < x.shape.size(); ++i)
    if (!drop[i]) out.push_back(x.shape[i]);
  ctx.set_output(0, x.dtype, std::move(out));
}

void unsqueeze_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  auto axes = axes_of(ctx);
  SAVE_NODE_CHECK(axes.has_value(), n,
                  "axes are required (attribute before opset 13, input 1 after)");
  int64_t r = static_cast<int64_t>(x.shape.size() + axes->size());
  std::vector<bool> is_new(static_cast<size_t>(r), false);
  for (int64_t a : *axes) {
    int64_t k = normalize_axis(a, r, n);
    SAVE_NODE_CHECK(!is_new[static_cast<size_t>(k)], n, "axis {} repeated in axes", a);
    is_new[static_cast<size_t>(k)] = true;
  }
  Shape out(static_cast<size_t>(r));
  size_t j = 0;
  for (size_t i = 0; i < out.size(); ++i) out[i] = is_new[i] ? 1 : x.shape[j++];
  ctx.set_output(0, x.dtype, std::move(out));
}

// ---- Transpose ----
std::vector<int64_t> perm_of(const Attributes& a, size_t rank, const Node& n) {
  std::vector<int64_t> perm = a.get_ints("perm");
  if (perm.empty() && !a.has("perm")) {
    perm.resize(rank);
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
  }
  SAVE_NODE_CHECK(perm.size() == rank, n, "perm has {} entries for an input of rank {}",
                  perm.size(), rank);
  std::vector<bool> seen(rank, false);
  for (int64_t& p : perm) {
    p = normalize_axis(p, static_cast<int64_t>(rank), n);
    SAVE_NODE_CHECK(!seen[static_cast<size_t>(p)], n, "perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

void transpose_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  auto perm = perm_of(ctx.attrs(), x.shape.size(), ctx.node);
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = x.shape[static_cast<size_t>(perm[i])];
  ctx.set_output(0, x.dtype, std::move(out));
}

void transpose_ref(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  auto perm = perm_of(ctx.attrs(), x.rank(), ctx.node);
  mv::permute_copy(x.data, ctx.outputs[0].data, x.shape, perm, dtype_size(x.dtype));
}

std::unique_ptr<Kernel> transpose_fast(const PrepareContext& ctx) {
  const TensorInfo& x = *ctx.inputs[0];
  auto perm = perm_of(ctx.attrs(), x.shape.size(), ctx.node);
  return mv::make_permute_kernel(ctx, x.shape, perm);
}

// ---- Constant ----
void constant_infer(InferContext& ctx) {
  Tensor t = constant_node_value(ctx.node);
  ctx.set_output(0, t.dtype(), t.shape());
}

void constant_ref(const KernelContext& ctx) {
  Tensor t = constant_node_value(ctx.node);
  if (t.nbytes() > 0) std::memcpy(ctx.outputs[0].data, t.data(), t.nbytes());
}

// ---- ConstantOfShape ----
Tensor fill_value(const Node& n) {
  const Tensor* v = n.attrs.get_tensor("value");
  if (v == nullptr) return Tensor::scalar<float>(0.f);
  SAVE_NODE_CHECK(v->numel() == 1, n, "attribute value must hold one element, got shape {}",
                  shape_str(v->shape()));
  return *v;
}

void constant_of_shape_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const Tensor& s = ctx.constant(0);
  SAVE_NODE_CHECK(s.rank() == 1, n, "the shape input must be 1-D, got shape {}",
                  shape_str(s.shape()));
  Shape out = s.to_int64();
  for (int64_t d : out) SAVE_NODE_CHECK(d >= 0, n, "negative dim in shape {}", shape_str(out));
  ctx.set_output(0, fill_value(n).dtype(), std::move(out));
}

void constant_of_shape_ref(const KernelContext& ctx) {
  Tensor v = fill_value(ctx.node);
  const TensorView& out = ctx.outputs[0];
  dispatch_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    T x = *v.ptr<T>();
    T* p = out.ptr<T>();
    int64_t m = out.numel();
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) p[i] = x;
  });
}

// ---- Range ----
void range_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  for (size_t i = 0; i < 3; ++i) {
    SAVE_NODE_CHECK(shape_numel(ctx.input(i).shape) == 1, n,
                    "input {} must be a scalar, got shape {}", i, shape_str(ctx.input(i).shape));
    SAVE_NODE_CHECK(ctx.input(i).dtype == ctx.input(0).dtype, n,
                    "inputs must share one element type");
  }
  DType t = ctx.input(0).dtype;
  SAVE_NODE_CHECK(t != DType::kBool, n, "bool is not a valid element type");
  int64_t count = dispatch_dtype(t, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    T start = *ctx.constant(0).ptr<T>(), limit = *ctx.constant(1).ptr<T>(),
      delta = *ctx.constant(2).ptr<T>();
    SAVE_NODE_CHECK(delta != T{0}, n, "delta must not be zero");
    if constexpr (std::is_integral_v<T>) {
      // Integer ceil division, exact where a double could round.
      int64_t num = static_cast<int64_t>(limit) - static_cast<int64_t>(start);
      int64_t d = static_cast<int64_t>(delta);
      int64_t q = num / d;
      if (q * d != num && ((num > 0) == (d > 0))) ++q;
      return q;
    } else {
      return static_cast<int64_t>(std::ceil(static_cast<double>(limit - start) / delta));
    }
  });
  ctx.set_output(0, t, {std::max<int64_t>(count, 0)});
}

void range_ref(const KernelContext& ctx) {
  const TensorView& out = ctx.outputs[0];
  dispatch_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      T start = *ctx.inputs[0].ptr<T>(), delta = *ctx.inputs[2].ptr<T>();
      T* p = out.ptr<T>();
      int64_t m = out.numel();
      for (int64_t i = 0; i < m; ++i) p[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    }
  });
}

const OpDef kShape{"Shape", shape_infer, shape_ref, nullptr, true};
// Interval rules: the data is only moved; bounds move with it. Constant,
// ConstantOfShape and Range have only exact inputs (the analysis computes
// them exactly without a rule).
const OpDef kReshape{"Reshape", reshape_infer, copy_bytes, nullptr, false, interval_copy};
const OpDef kFlatten{"Flatten", flatten_infer, copy_bytes, nullptr, false, interval_copy};
const OpDef kSqueeze{"Squeeze", squeeze_infer, copy_bytes, nullptr, false, interval_copy};
const OpDef kUnsqueeze{"Unsqueeze", unsqueeze_infer, copy_bytes, nullptr, false, interval_copy};
const OpDef kTranspose{"Transpose",    transpose_infer, transpose_ref,
                       transpose_fast, false,           interval_copy};
const OpDef kConstant{"Constant", constant_infer, constant_ref};
const OpDef kConstantOfShape{"ConstantOfShape", constant_of_shape_infer, constant_of_shape_ref};
const OpDef kRange{"Range", range_infer, range_ref};

}  // namespace

void register_shape_ops(OpRegistry& r) {
  for (const OpDef* d : {&kShape, &kReshape, &kFlatten, &kSqueeze, &kUnsqueeze, &kTranspose,
                         &kConstant, &kConstantOfShape, &kRange})
    r.add(*d);
}

}  // namespace save
