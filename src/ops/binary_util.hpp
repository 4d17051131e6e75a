// Broadcasting helpers of the `binary` family (binary.cpp, binary_misc.cpp):
// numpy multidirectional broadcasting over row-major tensors, visited one
// innermost row at a time so the per-element loop is a plain strided loop.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "ops/op.hpp"

namespace save::binary_detail {

// Opset < 7 broadcasting: with broadcast=1 and `axis`, B's dims line up with
// A's starting at `axis`. Returns B's shape padded with trailing ones so that
// numpy rules give the same result (the unchanged shape otherwise).
inline Shape legacy_b_shape(const Node& node, int64_t opset, std::span<const int64_t> a,
                            std::span<const int64_t> b) {
  Shape s(b.begin(), b.end());
  if (opset >= 7 || node.attrs.get_int("broadcast", 0) == 0 || !node.attrs.has("axis")) return s;
  const int64_t rank = static_cast<int64_t>(a.size());
  int64_t axis = node.attrs.get_int("axis", 0);
  if (axis < 0) axis += rank;
  const int64_t trailing = rank - axis - static_cast<int64_t>(b.size());
  SAVE_NODE_CHECK(axis >= 0 && trailing >= 0, node,
                  "legacy broadcast axis {} does not fit shapes {} and {}",
                  node.attrs.get_int("axis", 0), shape_str(a), shape_str(b));
  s.insert(s.end(), static_cast<size_t>(trailing), 1);
  return s;
}

// Element strides of `in` (right-aligned to `out`'s rank) along each output
// dim; 0 where `in` is broadcast.
inline std::vector<int64_t> bcast_strides(std::span<const int64_t> in,
                                          std::span<const int64_t> out) {
  const size_t r = out.size(), off = r - in.size();
  std::vector<int64_t> st(r, 0);
  int64_t s = 1;
  for (size_t i = r; i-- > off;) {
    const int64_t d = in[i - off];
    st[i] = d == 1 ? 0 : s;
    s *= d;
  }
  return st;
}

// Calls row(out_offset, in_offsets, n, in_steps) for each innermost row of
// the output: elements out_offset + j (j < n) read input k at
// in_offsets[k] + j * in_steps[k].
template <size_t N, typename F>
void for_each_row(std::span<const int64_t> out, const std::array<std::vector<int64_t>, N>& st,
                  F&& row) {
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  std::array<int64_t, N> off{}, step{};
  const size_t r = out.size();
  if (r == 0) {
    row(int64_t{0}, off, int64_t{1}, step);
    return;
  }
  const int64_t inner = out[r - 1];
  for (size_t k = 0; k < N; ++k) step[k] = st[k][r - 1];
  std::vector<int64_t> idx(r - 1, 0);
  for (int64_t o = 0; o < total; o += inner) {
    row(o, off, inner, step);
    // Odometer over the outer dims, keeping each input's offset in step.
    for (size_t d = r - 1; d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) off[k] += st[k][d];
      if (idx[d] < out[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= st[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

// out[i] = f(a[i'], b[i'']) with broadcasting; a_shape/b_shape may differ
// from the views' shapes (legacy broadcast, per-channel PRelu slopes).
template <typename TA, typename TB, typename TO, typename F>
void map2(const TensorView& a, std::span<const int64_t> a_shape, const TensorView& b,
          std::span<const int64_t> b_shape, const TensorView& out, F&& f) {
  const std::array<std::vector<int64_t>, 2> st{bcast_strides(a_shape, out.shape),
                                               bcast_strides(b_shape, out.shape)};
  const TA* pa = a.ptr<const TA>();
  const TB* pb = b.ptr<const TB>();
  TO* po = out.ptr<TO>();
  for_each_row<2>(out.shape, st, [&](int64_t o, const auto& off, int64_t n, const auto& step) {
    const TA* ra = pa + off[0];
    const TB* rb = pb + off[1];
    TO* ro = po + o;
    const int64_t sa = step[0], sb = step[1];
    for (int64_t j = 0; j < n; ++j) ro[j] = f(ra[j * sa], rb[j * sb]);
  });
}

template <typename TA, typename TB, typename TC, typename TO, typename F>
void map3(const TensorView& a, const TensorView& b, const TensorView& c, const TensorView& out,
          F&& f) {
  const std::array<std::vector<int64_t>, 3> st{bcast_strides(a.shape, out.shape),
                                               bcast_strides(b.shape, out.shape),
                                               bcast_strides(c.shape, out.shape)};
  const TA* pa = a.ptr<const TA>();
  const TB* pb = b.ptr<const TB>();
  const TC* pc = c.ptr<const TC>();
  TO* po = out.ptr<TO>();
  for_each_row<3>(out.shape, st, [&](int64_t o, const auto& off, int64_t n, const auto& step) {
    const TA* ra = pa + off[0];
    const TB* rb = pb + off[1];
    const TC* rc = pc + off[2];
    TO* ro = po + o;
    for (int64_t j = 0; j < n; ++j) ro[j] = f(ra[j * step[0]], rb[j * step[1]], rc[j * step[2]]);
  });
}

// Rank of a shape padded for oneDNN (which has no rank-0 tensors).
inline Shape pad_to_rank(std::span<const int64_t> s, size_t rank) {
  Shape p(rank - s.size(), 1);
  p.insert(p.end(), s.begin(), s.end());
  return p;
}

}  // namespace save::binary_detail
