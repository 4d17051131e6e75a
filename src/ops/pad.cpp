// Pad (constant/reflect/edge/wrap) and Trilu: copies where part of the output
// is not read from the input. Registered by register_data_movement_ops.
#include <algorithm>
#include <cstring>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using std::byte;

// ---- Pad ----
// Pads per axis, begins then ends, expanded to every axis of a rank-r input.
// Pad-1 calls them `paddings`, Pad-2..10 `pads` (attributes); from opset 11
// they are input 1, with opset 18's optional axes as input 3.
bool pad_attr_form(const Attributes& a, int64_t opset) {
  return opset < 11 || a.has("pads") || a.has("paddings");
}

std::vector<int64_t> full_pads(const Node& n, size_t r, std::vector<int64_t> pads,
                               const std::vector<int64_t>* axes) {
  if (axes == nullptr || axes->empty()) {
    SAVE_NODE_CHECK(pads.size() == 2 * r, n,
                    "pads has {} entries for an input of rank {} (needs {})", pads.size(), r,
                    2 * r);
    return pads;
  }
  SAVE_NODE_CHECK(pads.size() == 2 * axes->size(), n, "pads has {} entries for {} axes",
                  pads.size(), axes->size());
  std::vector<int64_t> full(2 * r, 0);
  for (size_t i = 0; i < axes->size(); ++i) {
    auto a = static_cast<size_t>(normalize_axis((*axes)[i], static_cast<int64_t>(r), n));
    full[a] = pads[i];
    full[a + r] = pads[i + axes->size()];
  }
  return full;
}

std::vector<int64_t> attr_pads(const Node& n, size_t r) {
  const Attributes& a = n.attrs;
  std::vector<int64_t> p = a.has("pads") ? a.ints("pads") : a.ints("paddings");
  return full_pads(n, r, std::move(p), nullptr);
}

void pad_infer(InferContext& ctx) {
  const Node& n = ctx.node;
  const TensorInfo& x = ctx.input(0);
  size_t r = x.shape.size();
  std::vector<int64_t> pads;
  if (pad_attr_form(ctx.attrs(), ctx.opset)) {
    pads = attr_pads(n, r);
  } else {
    SAVE_NODE_CHECK(ctx.has_input(1), n, "input pads is required");
    std::vector<int64_t> axes;
    if (ctx.has_input(3)) axes = ctx.constant(3).to_int64();
    pads = full_pads(n, r, ctx.constant(1).to_int64(), &axes);
  }
  std::string mode = ctx.attrs().get_string("mode", "constant");
  SAVE_NODE_CHECK(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap", n,
                  "unsupported mode '{}'", mode);
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    out[i] = x.shape[i] + pads[i] + pads[i + r];
    SAVE_NODE_CHECK(out[i] >= 0, n, "pads {} make axis {} of shape {} negative", shape_str(pads), i,
                    shape_str(x.shape));
    bool padded = pads[i] > 0 || pads[i + r] > 0;
    SAVE_NODE_CHECK(mode == "constant" || !padded || x.shape[i] > 0, n,
                    "mode '{}' cannot pad the empty axis {}", mode, i);
  }
  ctx.set_output(0, x.dtype, std::move(out));
}

// Source index of output index o on an axis of size dim with `begin` padding;
// -1 where the constant value goes.
int64_t pad_source(int64_t o, int64_t begin, int64_t dim, char mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case 'e':
      return std::clamp<int64_t>(i, 0, dim - 1);
    case 'r': {
      if (dim == 1) return 0;
      int64_t p = 2 * (dim - 1);
      i = ((i % p) + p) % p;
      return i < dim ? i : p - i;
    }
    case 'w':
      return ((i % dim) + dim) % dim;
    default:
      return -1;
  }
}

void pad_ref(const KernelContext& ctx) {
  const Node& n = ctx.node;
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  size_t r = x.rank();
  std::vector<int64_t> pads;
  double cval = 0;
  if (pad_attr_form(ctx.attrs(), ctx.opset)) {
    pads = attr_pads(n, r);
    cval = ctx.attrs().get_float("value", 0.f);
  } else {
    std::vector<int64_t> axes;
    if (ctx.has_input(3)) axes = mv::view_ints(ctx.inputs[3]);
    pads = full_pads(n, r, mv::view_ints(ctx.inputs[1]), &axes);
    if (mv::nonempty(ctx, 2)) cval = mv::view_doubles(ctx.inputs[2])[0];
  }
  if (out.numel() == 0) return;
  char mode = ctx.attrs().get_string("mode", "constant")[0];
  if (r == 0) {
    std::memcpy(out.data, x.data, out.nbytes());
    return;
  }
  // Per-axis maps from output to input index (-1: constant).
  std::vector<std::vector<int64_t>> map(r);
  for (size_t d = 0; d < r; ++d) {
    map[d].resize(static_cast<size_t>(out.shape[d]));
    for (int64_t o = 0; o < out.shape[d]; ++o)
      map[d][static_cast<size_t>(o)] = pad_source(o, pads[d], x.shape[d], mode);
  }
  auto in_strides = shape_strides(x.shape);
  int64_t cols = out.shape[r - 1];
  const std::vector<int64_t>& last = map[r - 1];
  int64_t begin = pads[r - 1];
  int64_t lo = std::clamp<int64_t>(begin, 0, cols);
  int64_t hi = std::clamp<int64_t>(begin + x.shape[r - 1], 0, cols);
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    T c = static_cast<T>(cval);
    const T* src = x.ptr<T>();
    T* dst = out.ptr<T>();
    std::vector<int64_t> idx(r - 1, 0);
    for (;;) {
      int64_t off = 0;
      bool inside = true;
      for (size_t d = 0; d + 1 < r; ++d) {
        int64_t m = map[d][static_cast<size_t>(idx[d])];
        inside = inside && m >= 0;
        off += m * in_strides[d];
      }
      if (inside) {
        const T* row = src + off;
        // Columns [lo, hi) are the input row itself; the rest follow the map.
        for (int64_t j = 0; j < lo; ++j) {
          int64_t m = last[static_cast<size_t>(j)];
          dst[j] = m >= 0 ? row[m] : c;
        }
        if (hi > lo)
          std::memcpy(dst + lo, row + (lo - begin), static_cast<size_t>(hi - lo) * sizeof(T));
        for (int64_t j = std::max(lo, hi); j < cols; ++j) {
          int64_t m = last[static_cast<size_t>(j)];
          dst[j] = m >= 0 ? row[m] : c;
        }
      } else {
        std::fill(dst, dst + cols, c);
      }
      dst += cols;
      size_t d = r - 1;
      for (;;) {
        if (d == 0) return;
        --d;
        if (++idx[d] < out.shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

// ---- Trilu ----
void trilu_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  SAVE_NODE_CHECK(x.shape.size() >= 2, ctx.node, "input must have rank >= 2, got shape {}",
                  shape_str(x.shape));
  if (ctx.has_input(1))
    SAVE_NODE_CHECK(shape_numel(ctx.input(1).shape) == 1, ctx.node,
                    "k must be a scalar, got shape {}", shape_str(ctx.input(1).shape));
  ctx.set_output(0, x.dtype, x.shape);
}

void trilu_ref(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  int64_t k = mv::nonempty(ctx, 1) ? mv::view_ints(ctx.inputs[1])[0] : 0;
  bool upper = ctx.attrs().get_int("upper", 1) != 0;
  size_t r = x.rank();
  int64_t rows = x.shape[r - 2], cols = x.shape[r - 1];
  int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  size_t esz = dtype_size(x.dtype);
  auto* src = static_cast<const byte*>(x.data);
  auto* dst = static_cast<byte*>(out.data);
  // Row i keeps columns j >= i + k (upper) or j <= i + k (lower); the rest
  // become zero, which is all-zero bytes for every element type.
  for (int64_t m = 0; m < mats; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      size_t off = static_cast<size_t>((m * rows + i) * cols) * esz;
      int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      std::memset(dst + off, 0, static_cast<size_t>(cols) * esz);
      if (hi > lo)
        std::memcpy(dst + off + static_cast<size_t>(lo) * esz,
                    src + off + static_cast<size_t>(lo) * esz, static_cast<size_t>(hi - lo) * esz);
    }
  }
}

// Interval rules: copies (Pad's constant value is copied too, so its bounds
// join the output's; pads/axes/k must be exact).
const OpDef kPad{"Pad", pad_infer, pad_ref, nullptr, false, interval_copy};
const OpDef kTrilu{"Trilu", trilu_infer, trilu_ref, nullptr, false, interval_copy};

}  // namespace

void register_pad_ops(OpRegistry& r) {
  r.add(kPad);
  r.add(kTrilu);
}

}  // namespace save
