// Helpers shared by the control-flow ops (ops/control_flow.cpp: If, Loop;
// ops/scan.cpp: Scan): a subgraph's captured inputs taken from the owning
// node's trailing inputs, scalars read from views, results written back.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/interval.hpp"
#include "ops/op.hpp"
#include "ops/subgraph_eval.hpp"

namespace save {

// The captures of `sg` as the owner's inputs: infos and constants.
inline void add_captures(const InferContext& ctx, const Subgraph& sg,
                         std::vector<TensorInfo>& infos, std::vector<const Tensor*>& consts) {
  for (size_t slot : sg.capture_slots) {
    SAVE_NODE_CHECK(ctx.has_input(slot), ctx.node, "captured input {} is missing", slot);
    infos.push_back(*ctx.inputs[slot]);
    consts.push_back(slot < ctx.constants.size() ? ctx.constants[slot] : nullptr);
  }
}
inline void add_captures(const KernelContext& ctx, const Subgraph& sg, std::vector<Tensor>& in) {
  for (size_t slot : sg.capture_slots) in.push_back(copy_of(ctx.inputs[slot]));
}
inline void add_captures(const IntervalContext& ctx, const Subgraph& sg, std::vector<Bounds>& in) {
  for (size_t slot : sg.capture_slots) {
    const TensorView& lo = ctx.lo[slot];
    Bounds b;
    if (ctx.known(slot)) {
      b = Bounds{true, copy_of(lo), copy_of(ctx.hi[slot])};
    } else {
      b = Bounds::unbounded({lo.dtype, Shape(lo.shape.begin(), lo.shape.end())});
    }
    in.push_back(std::move(b));
  }
}

inline Bounds bounds_of(const IntervalContext& ctx, size_t i) {
  const TensorView& lo = ctx.lo[i];
  if (ctx.known(i)) return Bounds{true, copy_of(lo), copy_of(ctx.hi[i])};
  return Bounds::unbounded({lo.dtype, Shape(lo.shape.begin(), lo.shape.end())});
}

inline bool truth(const TensorView& v) {
  return dispatch_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    return v.numel() > 0 && static_cast<const T*>(v.data)[0] != T(0);
  });
}
inline int64_t int_value(const TensorView& v) {
  return dispatch_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<int64_t>(static_cast<const T*>(v.data)[0]);
  });
}

// Copies a subgraph output into the node's planned output, which must have
// its shape.
inline void store(const Node& n, size_t k, const Tensor& value, const TensorView& out) {
  if (!out.present() || out.data == nullptr) return;
  SAVE_NODE_CHECK(
      value.dtype() == out.dtype && std::equal(value.shape().begin(), value.shape().end(),
                                               out.shape.begin(), out.shape.end()),
      n, "output {} is {} {} at run time; the plan expected {} {}", k, dtype_name(value.dtype()),
      shape_str(value.shape()), dtype_name(out.dtype), shape_str(out.shape));
  if (value.nbytes() > 0) std::memcpy(out.data, value.data(), value.nbytes());
}

// Writes bounds into the rule's output k (declines it when unknown).
inline void store_bounds(const IntervalContext& ctx, size_t k, const Bounds& b) {
  if (ctx.out_lo[k].data == nullptr) return;
  if (!b.known || b.lo.nbytes() != ctx.out_lo[k].nbytes()) {
    ctx.out_known[k] = 0;
    return;
  }
  std::memcpy(ctx.out_lo[k].data, b.lo.data(), b.lo.nbytes());
  std::memcpy(ctx.out_hi[k].data, b.hi.data(), b.hi.nbytes());
}

}  // namespace save
