// Data-movement ops: Concat Split Slice Gather Expand Tile here; Pad and
// Trilu in pad.cpp; DepthToSpace and SpaceToDepth in depth_space.cpp. All are
// byte copies independent of the element type, with contiguous inner blocks
// copied by memcpy (they sit on the hot path of transformer graphs).
#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using std::byte;

// Product of dims [from, to).
int64_t prod(std::span<const int64_t> s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

// ---- Concat ----
// Concat-1..3 default the axis to 1; from opset 4 it is required.
int64_t concat_axis(const Attributes& a, int64_t opset) {
  return opset < 4 ? a.get_int("axis", 1) : a.int_("axis");
}

void concat_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  SAVE_NODE_CHECK(ctx.num_inputs() >= 1, n, "needs at least one input");
  const TensorInfo& x0 = ctx.input(0);
  int64_t r = static_cast<int64_t>(x0.shape.size());
  // Before normalize_axis (which refuses rank 0 too) for a message about
  // the inputs rather than the axis.
  SAVE_NODE_CHECK(r >= 1, n, "inputs must have rank 1 or more (input 0 is a scalar)");
  SAVE_NODE_CHECK(ctx.opset < 4 || ctx.attrs().has("axis"), n, "attribute axis is required");
  int64_t axis = normalize_axis(concat_axis(ctx.attrs(), ctx.opset), r, n);
  Shape out = x0.shape;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const TensorInfo& xi = ctx.input(i);
    SAVE_NODE_CHECK(xi.dtype == x0.dtype, n, "input {} has type {}, input 0 {}", i,
                    dtype_name(xi.dtype), dtype_name(x0.dtype));
    SAVE_NODE_CHECK(xi.shape.size() == x0.shape.size(), n, "input {} has rank {}, input 0 rank {}",
                    i, xi.shape.size(), x0.shape.size());
    for (size_t d = 0; d < xi.shape.size(); ++d)
      SAVE_NODE_CHECK(d == static_cast<size_t>(axis) || xi.shape[d] == x0.shape[d], n,
                      "input {} has shape {}, incompatible with input 0 {} on axis {}", i,
                      shape_str(xi.shape), shape_str(x0.shape), axis);
    out[static_cast<size_t>(axis)] += xi.shape[static_cast<size_t>(axis)];
  }
  ctx.set_output(0, x0.dtype, std::move(out));
}

void concat_ref(const KernelContext& ctx) {
  const TensorView& out = ctx.outputs[0];
  int64_t axis = normalize_axis(concat_axis(ctx.attrs(), ctx.opset),
                                static_cast<int64_t>(out.rank()), ctx.node);
  size_t esz = dtype_size(out.dtype);
  int64_t outer = prod(out.shape, 0, static_cast<size_t>(axis));
  size_t inner = static_cast<size_t>(prod(out.shape, static_cast<size_t>(axis) + 1, out.rank()));
  size_t out_row = static_cast<size_t>(out.shape[static_cast<size_t>(axis)]) * inner * esz;
  size_t offset = 0;
  for (const TensorView& in : ctx.inputs) {
    size_t row = static_cast<size_t>(in.shape[static_cast<size_t>(axis)]) * inner * esz;
    mv::copy_rows(static_cast<const byte*>(in.data), row, static_cast<byte*>(out.data) + offset,
                  out_row, row, outer);
    offset += row;
  }
}

// ---- Split ----
// The sizes of the parts along `axis`: from the `split` attribute (before
// opset 13) or input 1 (from 13), else num_outputs (opset 18), else equal.
std::vector<int64_t> split_sizes(const Node& n, const Attributes& a, int64_t dim,
                                 size_t num_outputs, const std::vector<int64_t>* split_input) {
  std::vector<int64_t> sizes;
  if (a.has("split")) {
    sizes = a.ints("split");
  } else if (split_input != nullptr && !split_input->empty()) {
    sizes = *split_input;
  } else if (a.has("num_outputs")) {
    int64_t k = a.get_int("num_outputs", 1);
    SAVE_NODE_CHECK(k >= 1, n, "num_outputs must be positive, got {}", k);
    int64_t chunk = (dim + k - 1) / k;
    for (int64_t i = 0; i < k; ++i) sizes.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
  } else {
    int64_t k = static_cast<int64_t>(num_outputs);
    SAVE_NODE_CHECK(k >= 1, n, "needs at least one output");
    SAVE_NODE_CHECK(dim % k == 0, n, "cannot split a dim of {} into {} equal parts", dim, k);
    sizes.assign(static_cast<size_t>(k), dim / k);
  }
  int64_t sum = 0;
  for (int64_t s : sizes) {
    SAVE_NODE_CHECK(s >= 0, n, "negative split size {}", s);
    sum += s;
  }
  SAVE_NODE_CHECK(sum == dim, n, "split sizes add up to {}, the axis has {}", sum, dim);
  return sizes;
}

void split_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  int64_t axis =
      normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(x.shape.size()), n);
  std::vector<int64_t> split_in;
  if (ctx.has_input(1)) split_in = ctx.constant(1).to_int64();
  size_t nout = ctx.outputs.empty() ? n.outputs.size() : ctx.outputs.size();
  auto sizes = split_sizes(n, ctx.attrs(), x.shape[static_cast<size_t>(axis)], nout,
                           ctx.has_input(1) ? &split_in : nullptr);
  SAVE_NODE_CHECK(nout == 0 || sizes.size() == nout, n, "{} split sizes for {} outputs",
                  sizes.size(), nout);
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape s = x.shape;
    s[static_cast<size_t>(axis)] = sizes[i];
    ctx.set_output(i, x.dtype, std::move(s));
  }
}

void split_ref(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  int64_t axis =
      normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(x.rank()), ctx.node);
  std::vector<int64_t> split_in;
  if (ctx.has_input(1)) split_in = mv::view_ints(ctx.inputs[1]);
  // Sizes from the node, not the output views, so an omitted output still
  // advances the offset.
  auto sizes = split_sizes(ctx.node, ctx.attrs(), x.shape[static_cast<size_t>(axis)],
                           ctx.outputs.size(), ctx.has_input(1) ? &split_in : nullptr);
  size_t esz = dtype_size(x.dtype);
  int64_t outer = prod(x.shape, 0, static_cast<size_t>(axis));
  size_t inner = static_cast<size_t>(prod(x.shape, static_cast<size_t>(axis) + 1, x.rank()));
  size_t in_row = static_cast<size_t>(x.shape[static_cast<size_t>(axis)]) * inner * esz;
  size_t offset = 0;
  for (size_t i = 0; i < sizes.size() && i < ctx.outputs.size(); ++i) {
    size_t row = static_cast<size_t>(sizes[i]) * inner * esz;
    if (ctx.outputs[i].data != nullptr)
      mv::copy_rows(static_cast<const byte*>(x.data) + offset, in_row,
                    static_cast<byte*>(ctx.outputs[i].data), row, row, outer);
    offset += row;
  }
}

// ---- Slice ----
struct SliceAxis {
  int64_t start = 0, step = 1, count = 0;
};

// Per-axis start/step/count of a slice over `shape`, with ONNX's clamping.
std::vector<SliceAxis> slice_plan(const Node& n, std::span<const int64_t> shape,
                                  const std::vector<int64_t>& starts,
                                  const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                                  std::vector<int64_t> steps) {
  int64_t r = static_cast<int64_t>(shape.size());
  SAVE_NODE_CHECK(starts.size() == ends.size(), n, "starts has {} entries, ends {}", starts.size(),
                  ends.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  SAVE_NODE_CHECK(axes.size() == starts.size() && steps.size() == starts.size(), n,
                  "starts, ends, axes and steps must have the same length");
  std::vector<SliceAxis> plan(shape.size());
  std::vector<bool> seen(shape.size(), false);
  for (size_t d = 0; d < shape.size(); ++d) plan[d] = {0, 1, shape[d]};
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = normalize_axis(axes[i], r, n);
    SAVE_NODE_CHECK(!seen[static_cast<size_t>(a)], n, "axis {} repeated in axes", axes[i]);
    seen[static_cast<size_t>(a)] = true;
    int64_t dim = shape[static_cast<size_t>(a)], step = steps[i];
    SAVE_NODE_CHECK(step != 0, n, "step must not be zero");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t count;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > s ? (e - s - 1) / step + 1 : 0;  // no overflow for huge steps
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = s > e ? (s - e - 1) / -step + 1 : 0;
    }
    // With at most one element taken the step is irrelevant; normalising it
    // keeps the copy loop's byte strides from overflowing on huge steps.
    if (count <= 1) step = 1;
    plan[static_cast<size_t>(a)] = {s, step, count};
  }
  return plan;
}

// Slice-1 (before opset 10) holds starts/ends/axes as attributes.
bool slice_attr_form(const Attributes& a, int64_t opset) {
  return opset < 10 || a.has("starts");
}

void slice_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  std::vector<SliceAxis> plan;
  if (slice_attr_form(ctx.attrs(), ctx.opset)) {
    plan = slice_plan(n, x.shape, ctx.attrs().ints("starts"), ctx.attrs().ints("ends"),
                      ctx.attrs().get_ints("axes"), {});
  } else {
    SAVE_NODE_CHECK(ctx.has_input(1) && ctx.has_input(2), n, "inputs starts and ends are required");
    std::vector<int64_t> axes, steps;
    if (ctx.has_input(3)) axes = ctx.constant(3).to_int64();
    if (ctx.has_input(4)) steps = ctx.constant(4).to_int64();
    plan =
        slice_plan(n, x.shape, ctx.constant(1).to_int64(), ctx.constant(2).to_int64(), axes, steps);
  }
  Shape out(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) out[i] = plan[i].count;
  ctx.set_output(0, x.dtype, std::move(out));
}

void slice_ref(const KernelContext& ctx) {
  const Node& n = ctx.node;
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  std::vector<SliceAxis> plan;
  if (slice_attr_form(ctx.attrs(), ctx.opset)) {
    plan = slice_plan(n, x.shape, ctx.attrs().ints("starts"), ctx.attrs().ints("ends"),
                      ctx.attrs().get_ints("axes"), {});
  } else {
    std::vector<int64_t> axes, steps;
    if (ctx.has_input(3)) axes = mv::view_ints(ctx.inputs[3]);
    if (ctx.has_input(4)) steps = mv::view_ints(ctx.inputs[4]);
    plan = slice_plan(n, x.shape, mv::view_ints(ctx.inputs[1]), mv::view_ints(ctx.inputs[2]), axes,
                      steps);
  }
  if (out.numel() == 0) return;
  size_t r = x.rank();
  size_t esz = dtype_size(x.dtype);
  // Trailing axes taken whole form one contiguous block.
  size_t k = r;
  while (k > 0 && plan[k - 1].start == 0 && plan[k - 1].step == 1 &&
         plan[k - 1].count == x.shape[k - 1])
    --k;
  auto strides = shape_strides(x.shape);
  size_t block = esz * static_cast<size_t>(prod(x.shape, k, r));
  // The last partial axis with step 1 extends the block.
  size_t loop_axes = k;
  if (k > 0 && plan[k - 1].step == 1) {
    block *= static_cast<size_t>(plan[k - 1].count);
    loop_axes = k - 1;
  }
  auto* src = static_cast<const byte*>(x.data);
  auto* dst = static_cast<byte*>(out.data);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) base += plan[d].start * strides[d];
  src += base * static_cast<int64_t>(esz);
  if (loop_axes == 0) {
    std::memcpy(dst, src, block);
    return;
  }
  std::vector<int64_t> idx(loop_axes, 0), bstep(loop_axes);
  for (size_t d = 0; d < loop_axes; ++d)
    bstep[d] = plan[d].step * strides[d] * static_cast<int64_t>(esz);
  for (;;) {
    std::memcpy(dst, src, block);
    dst += block;
    size_t d = loop_axes;
    for (;;) {
      if (d == 0) return;
      --d;
      src += bstep[d];
      if (++idx[d] < plan[d].count) break;
      src -= bstep[d] * plan[d].count;
      idx[d] = 0;
    }
  }
}

// ---- Gather ----
void gather_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& idx = ctx.input(1);
  SAVE_NODE_CHECK(idx.dtype == DType::kI64 || idx.dtype == DType::kI32, n,
                  "indices must be int32 or int64, got {}", dtype_name(idx.dtype));
  int64_t r = static_cast<int64_t>(x.shape.size());
  SAVE_NODE_CHECK(r >= 1, n, "data must have rank >= 1");
  size_t axis = static_cast<size_t>(normalize_axis(ctx.attrs().get_int("axis", 0), r, n));
  Shape out(x.shape.begin(), x.shape.begin() + static_cast<ptrdiff_t>(axis));
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + static_cast<ptrdiff_t>(axis) + 1, x.shape.end());
  ctx.set_output(0, x.dtype, std::move(out));
}

void gather_ref(const KernelContext& ctx) {
  const Node& n = ctx.node;
  const TensorView& x = ctx.inputs[0];
  size_t axis = static_cast<size_t>(
      normalize_axis(ctx.attrs().get_int("axis", 0), static_cast<int64_t>(x.rank()), n));
  std::vector<int64_t> idx = mv::view_ints(ctx.inputs[1]);
  int64_t dim = x.shape[axis];
  for (int64_t& i : idx) {
    SAVE_NODE_CHECK(i >= -dim && i < dim, n, "index {} out of range for axis {} of size {}", i,
                    axis, dim);
    if (i < 0) i += dim;
  }
  size_t esz = dtype_size(x.dtype);
  int64_t outer = prod(x.shape, 0, axis);
  size_t block = esz * static_cast<size_t>(prod(x.shape, axis + 1, x.rank()));
  auto* src = static_cast<const byte*>(x.data);
  auto* dst = static_cast<byte*>(ctx.outputs[0].data);
  size_t m = idx.size();
  if (block == 0 || m == 0) return;
#pragma omp parallel for if (static_cast <size_t>(outer) * m * block > (1u << 18))
  for (int64_t o = 0; o < outer; ++o) {
    const byte* s = src + static_cast<size_t>(o * dim) * block;
    byte* d = dst + static_cast<size_t>(o) * m * block;
    for (size_t j = 0; j < m; ++j)
      std::memcpy(d + j * block, s + static_cast<size_t>(idx[j]) * block, block);
  }
}

// ---- Expand / Tile: broadcast copies ----
// Copies `in` (shape in_shape, left-padded to out's rank) into `out`, where
// each out axis either equals the input axis or repeats it: out index i reads
// input index i % in_dim. Expand (in_dim 1) and Tile (any in_dim) share it.
void repeat_copy(const byte* src, std::span<const int64_t> in_shape, byte* dst,
                 std::span<const int64_t> out_shape, size_t esz) {
  size_t r = out_shape.size();
  if (shape_numel(out_shape) == 0) return;
  Shape in(r, 1);
  std::copy(in_shape.begin(), in_shape.end(),
            in.begin() + static_cast<ptrdiff_t>(r - in_shape.size()));
  // Trailing axes copied whole form the block.
  size_t k = r;
  while (k > 0 && in[k - 1] == out_shape[k - 1]) --k;
  size_t block = esz * static_cast<size_t>(prod(in, k, r));
  if (k == 0) {
    std::memcpy(dst, src, block);
    return;
  }
  auto strides = shape_strides(in);
  // Innermost repeated axis k-1: one input row of in[k-1] blocks is written
  // out_shape[k-1] / in[k-1] times (an exact multiple for both Expand, where
  // in is 1, and Tile).
  size_t row = block * static_cast<size_t>(in[k - 1]);
  int64_t reps = out_shape[k - 1] / in[k - 1];
  std::vector<int64_t> idx(k - 1, 0);
  for (;;) {
    int64_t off = 0;
    for (size_t d = 0; d + 1 < k; ++d) off += (idx[d] % in[d]) * strides[d];
    const byte* s = src + off * static_cast<int64_t>(esz);
    // Write the row once, then double the written part (few large memcpys
    // even when broadcasting a single element).
    size_t total = row * static_cast<size_t>(reps);
    std::memcpy(dst, s, row);
    for (size_t w = row; w < total;) {
      size_t c = std::min(w, total - w);
      std::memcpy(dst + w, dst, c);
      w += c;
    }
    dst += total;
    size_t d = k - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

void expand_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  const Tensor& s = ctx.constant(1);
  SAVE_NODE_CHECK(s.rank() == 1, n, "the shape input must be 1-D, got shape {}",
                  shape_str(s.shape()));
  ctx.set_output(0, x.dtype, broadcast_shapes(x.shape, s.to_int64(), n));
}

void expand_ref(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  repeat_copy(static_cast<const byte*>(x.data), x.shape, static_cast<byte*>(out.data), out.shape,
              dtype_size(x.dtype));
}

void tile_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  std::vector<int64_t> reps = ctx.constant(1).to_int64();
  SAVE_NODE_CHECK(reps.size() == x.shape.size(), n,
                  "repeats has {} entries for an input of rank {}", reps.size(), x.shape.size());
  Shape out(x.shape.size());
  for (size_t i = 0; i < out.size(); ++i) {
    SAVE_NODE_CHECK(reps[i] >= 0, n, "negative repeat {}", reps[i]);
    out[i] = x.shape[i] * reps[i];
  }
  ctx.set_output(0, x.dtype, std::move(out));
}

void tile_ref(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  if (x.numel() == 0) return;
  repeat_copy(static_cast<const byte*>(x.data), x.shape, static_cast<byte*>(out.data), out.shape,
              dtype_size(x.dtype));
}

// Interval rules: pure data movement, bounds move with the data (index,
// shape and axis inputs must be exact).
const OpDef kConcat{"Concat", concat_infer, concat_ref, nullptr, false, interval_copy};
const OpDef kSplit{"Split", split_infer, split_ref, nullptr, false, interval_copy};
const OpDef kSlice{"Slice", slice_infer, slice_ref, nullptr, false, interval_copy};
const OpDef kGather{"Gather", gather_infer, gather_ref, nullptr, false, interval_copy};
const OpDef kExpand{"Expand", expand_infer, expand_ref, nullptr, false, interval_copy};
const OpDef kTile{"Tile", tile_infer, tile_ref, nullptr, false, interval_copy};

}  // namespace

void register_data_movement_ops(OpRegistry& r) {
  for (const OpDef* d : {&kConcat, &kSplit, &kSlice, &kGather, &kExpand, &kTile}) r.add(*d);
}

}  // namespace save
