// Sliding-window geometry shared by the conv and pool families: resolves
// kernel_shape/strides/dilations/pads/auto_pad (and ceil_mode for pools) into
// explicit per-axis begin/end padding and output sizes, following the ONNX
// spec (and ONNX Runtime where the spec is silent).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "ir/graph.hpp"

namespace save {

struct WindowGeom {
  size_t nsp = 0;  // number of spatial axes
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;
  // End padding (>= pad_end) with out == floor((in + pb + pe_eff - dk) / s) + 1;
  // larger than pad_end only when ceil_mode adds a partial window.
  std::vector<int64_t> pad_end_eff;

  int64_t dk(size_t i) const { return (kernel[i] - 1) * dilation[i] + 1; }
};

inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Reads the window attributes of `node` for `in` spatial sizes. `kernel` is
// the kernel from the weights (Conv) or empty (pools: kernel_shape required).
inline WindowGeom resolve_window(const Node& node, const std::vector<int64_t>& in,
                                 std::vector<int64_t> kernel, bool allow_ceil) {
  const Attributes& a = node.attrs;
  WindowGeom g;
  g.nsp = in.size();
  const size_t n = g.nsp;
  SAVE_NODE_CHECK(n >= 1, node, "input needs at least one spatial axis");
  g.in = in;
  if (a.has("kernel_shape")) {
    auto ks = a.ints("kernel_shape");
    SAVE_NODE_CHECK(ks.size() == n, node, "kernel_shape has {} values, expected {}", ks.size(), n);
    SAVE_NODE_CHECK(kernel.empty() || ks == kernel, node,
                    "kernel_shape does not match the weight's spatial shape");
    kernel = ks;
  }
  SAVE_NODE_CHECK(kernel.size() == n, node, "kernel_shape is required (expected {} values)", n);
  g.kernel = kernel;
  g.stride = a.get_ints("strides", std::vector<int64_t>(n, 1));
  g.dilation = a.get_ints("dilations", std::vector<int64_t>(n, 1));
  std::vector<int64_t> pads = a.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  SAVE_NODE_CHECK(g.stride.size() == n && g.dilation.size() == n && pads.size() == 2 * n, node,
                  "strides/dilations need {} values and pads {}", n, 2 * n);
  for (size_t i = 0; i < n; ++i) {
    SAVE_NODE_CHECK(g.kernel[i] >= 1 && g.stride[i] >= 1 && g.dilation[i] >= 1 && pads[i] >= 0 &&
                        pads[n + i] >= 0,
                    node,
                    "kernel, strides and dilations must be positive and pads "
                    "non-negative");
  }
  bool ceil_mode = allow_ceil && a.get_int("ceil_mode", 0) != 0;
  std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  g.pad_begin.resize(n);
  g.pad_end.resize(n);
  g.out.resize(n);
  g.pad_end_eff.resize(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t dk = g.dk(i), s = g.stride[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = (in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (g.out[i] - 1) * s + dk - in[i]);
      int64_t small = total / 2;
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[i] = total - g.pad_begin[i];
    } else if (auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
      SAVE_NODE_CHECK(in[i] >= dk, node, "window {} larger than input {} on spatial axis {}", dk,
                      in[i], i);
      g.out[i] = (in[i] - dk) / s + 1;
    } else {
      SAVE_NODE_CHECK(auto_pad == "NOTSET", node, "unknown auto_pad '{}'", auto_pad);
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[n + i];
      int64_t span = in[i] + g.pad_begin[i] + g.pad_end[i] - dk;
      SAVE_NODE_CHECK(span >= 0, node, "window {} larger than padded input {} on spatial axis {}",
                      dk, in[i] + g.pad_begin[i] + g.pad_end[i], i);
      g.out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // As PyTorch/ONNX Runtime: the last window must start inside the input
      // or the begin padding, never only in the end padding.
      if (ceil_mode && (g.out[i] - 1) * s >= in[i] + g.pad_begin[i]) --g.out[i];
    }
    g.pad_end_eff[i] = std::max(g.pad_end[i], (g.out[i] - 1) * s + dk - in[i] - g.pad_begin[i]);
  }
  return g;
}

}  // namespace save
