// Unary ops that are not float math: Cast, CastLike, Not, Identity, Dropout (inference
// only). Part of the `unary` family; registered by register_unary_ops().
// None has a fast kernel: they are copies or type conversions, which a plain
// loop does at memory speed.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

// ---- Cast ----

// Float to integer conversion with defined results: NaN gives 0 and values
// out of range saturate (a plain static_cast is undefined behaviour there;
// ONNX leaves the result unspecified).
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max()))
      return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

DType cast_target(const Node& node) {
  const int64_t to = node.attrs.int_("to");
  SAVE_NODE_CHECK(to >= 0 && to <= std::numeric_limits<int32_t>::max() &&
                      dtype_supported(static_cast<int32_t>(to)),
                  node,
                  "target type code {} is not supported (supported: float32, "
                  "float64, int8, uint8, int32, int64, bool)",
                  to);
  return static_cast<DType>(to);
}

void infer_cast(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  ctx.set_output(0, cast_target(ctx.node), x.shape);
}

// CastLike (opset 15): the target type is that of input 1.
void infer_cast_like(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  ctx.set_output(0, ctx.input(1).dtype, x.shape);
}

void reference_cast(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& y = ctx.outputs[0];
  if (x.dtype == y.dtype) {
    std::memcpy(y.data, x.data, x.nbytes());
    return;
  }
  dispatch_dtype(x.dtype, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch_dtype(y.dtype, [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* in = x.ptr<const From>();
      To* out = y.ptr<To>();
      for (int64_t i = 0; i < x.numel(); ++i) out[i] = convert<To, From>(in[i]);
    });
  });
}

// ---- Not ----

void infer_not(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.dtype == DType::kBool, ctx.node, "input must be bool, got {}",
                  dtype_name(x.dtype));
  ctx.set_output(0, DType::kBool, x.shape);
}

void reference_not(const KernelContext& ctx) {
  // bool is one byte holding 0 or 1.
  const uint8_t* in = ctx.inputs[0].ptr<const uint8_t>();
  uint8_t* out = ctx.outputs[0].ptr<uint8_t>();
  for (int64_t i = 0; i < ctx.inputs[0].numel(); ++i) out[i] = in[i] == 0 ? 1 : 0;
}

// ---- Identity ----

void infer_identity(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  ctx.set_output(0, x.dtype, x.shape);
}

void reference_copy(const KernelContext& ctx) {
  std::memcpy(ctx.outputs[0].data, ctx.inputs[0].data, ctx.inputs[0].nbytes());
}

// ---- Dropout ----
// Inference only: output = input, the optional mask is all true. From opset
// 12 `ratio` and `training_mode` are inputs; a training_mode known to be true
// asks for random dropping, which the engine does not do.

bool wants_mask(const InferContext& ctx) {
  const auto& outs = ctx.node.outputs;
  return ctx.outputs.size() > 1 || (outs.size() > 1 && outs[1] != kNoId);
}

void infer_dropout(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(is_float(x.dtype), ctx.node, "input must be float, got {}", dtype_name(x.dtype));
  if (ctx.has_input(2) && ctx.constants.size() > 2 && ctx.constants[2] != nullptr) {
    const std::vector<double> training = ctx.constants[2]->to_double();
    SAVE_NODE_CHECK(training.empty() || training[0] == 0, ctx.node,
                    "training_mode is true; only inference (training_mode false) "
                    "is supported");
  }
  ctx.set_output(0, x.dtype, x.shape);
  // The mask is bool from opset 10; before that it had the input's type.
  if (wants_mask(ctx)) ctx.set_output(1, ctx.opset >= 10 ? DType::kBool : x.dtype, x.shape);
}

void reference_dropout(const KernelContext& ctx) {
  reference_copy(ctx);
  if (ctx.outputs.size() < 2 || ctx.outputs[1].data == nullptr) return;
  const TensorView& mask = ctx.outputs[1];
  dispatch_dtype(mask.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* m = mask.ptr<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) m[i] = T(1);
  });
}

// Conversions are non-decreasing except to bool (v != 0).
void interval_cast(const IntervalContext& ctx) {
  if (ctx.out_lo[0].dtype == DType::kBool) return ctx.decline();
  monotone(ctx, {});
}

const OpDef kCast{"Cast", &infer_cast, &reference_cast, nullptr, false, &interval_cast};
const OpDef kCastLike{"CastLike", &infer_cast_like, &reference_cast, nullptr,
                      false,      &interval_cast};
const OpDef kNot{"Not", &infer_not, &reference_not};
const OpDef kIdentity{"Identity", &infer_identity, &reference_copy, nullptr, false, &interval_copy};
const OpDef kDropout{"Dropout", &infer_dropout, &reference_dropout, nullptr, false, &interval_copy};

}  // namespace

void register_unary_misc_ops(OpRegistry& r) {
  r.add(kCast);
  r.add(kCastLike);
  r.add(kNot);
  r.add(kIdentity);
  r.add(kDropout);
}

}  // namespace save
