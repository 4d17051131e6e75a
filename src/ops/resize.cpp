// Resize (opsets 10..18) and Upsample (7..9). Reference kernel only: each
// output axis gets a table of taps (input index and weight) computed the way
// the ONNX reference implementation does, and every output element is the sum
// over the tensor product of its axes' taps, in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

struct ResizeSpec {
  std::string mode;          // nearest | linear | cubic
  std::string coord;         // coordinate_transformation_mode
  std::string nearest_mode;  // round_prefer_floor | round_prefer_ceil | floor | ceil | simple
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  std::vector<double> scales;  // per axis: the scale the coordinate transform uses
  std::vector<double> roi;     // per axis starts, then ends
  Shape out;
};

// Inputs: the values of scales / sizes / roi as given (empty when absent).
struct ResizeInputs {
  std::vector<double> roi, scales;
  std::vector<int64_t> sizes;
};

// Resize-10 and Upsample predate coordinate_transformation_mode: they map
// output to input coordinates as x / scale and pick nearest neighbours the
// way ONNX Runtime keeps for them ("simple": floor when upsampling, ceil when
// downsampling).
bool legacy_form(const Node& n, int64_t opset) {
  return n.op == "Upsample" || opset < 11;
}

ResizeSpec resize_spec(const Node& n, int64_t opset, std::span<const int64_t> in, ResizeInputs v) {
  const Attributes& a = n.attrs;
  size_t r = in.size();
  SAVE_NODE_CHECK(r >= 1, n, "input must have rank >= 1");
  ResizeSpec s;
  s.mode = a.get_string("mode", "nearest");
  if (s.mode == "bilinear") s.mode = "linear";  // Upsample-1's name
  SAVE_NODE_CHECK(s.mode == "nearest" || s.mode == "linear" || s.mode == "cubic", n,
                  "unsupported mode '{}'", s.mode);
  if (legacy_form(n, opset)) {
    s.coord = "asymmetric";
    s.nearest_mode = "simple";
  } else {
    s.coord = a.get_string("coordinate_transformation_mode", "half_pixel");
    s.nearest_mode = a.get_string("nearest_mode", "round_prefer_floor");
  }
  SAVE_NODE_CHECK(s.coord == "half_pixel" || s.coord == "pytorch_half_pixel" ||
                      s.coord == "align_corners" || s.coord == "asymmetric" ||
                      s.coord == "tf_half_pixel_for_nn" || s.coord == "tf_crop_and_resize" ||
                      s.coord == "half_pixel_symmetric",
                  n, "unsupported coordinate_transformation_mode '{}'", s.coord);
  SAVE_NODE_CHECK(s.nearest_mode == "round_prefer_floor" || s.nearest_mode == "round_prefer_ceil" ||
                      s.nearest_mode == "floor" || s.nearest_mode == "ceil" ||
                      s.nearest_mode == "simple",
                  n, "unsupported nearest_mode '{}'", s.nearest_mode);
  SAVE_NODE_CHECK(a.get_int("antialias", 0) == 0 || s.mode == "nearest", n,
                  "antialias is not supported");
  s.cubic_a = a.get_float("cubic_coeff_a", -0.75f);
  s.exclude_outside = a.get_int("exclude_outside", 0) != 0;
  s.extrapolation = a.get_float("extrapolation_value", 0.f);

  // Opset 18's axes: scales/sizes/roi name only these axes.
  std::vector<int64_t> axes = a.get_ints("axes");
  if (axes.empty())
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
  for (int64_t& ax : axes) ax = normalize_axis(ax, static_cast<int64_t>(r), n);
  size_t k = axes.size();

  s.roi.assign(2 * r, 0.0);
  for (size_t i = 0; i < r; ++i) s.roi[r + i] = 1.0;
  if (s.coord == "tf_crop_and_resize" && !v.roi.empty()) {
    SAVE_NODE_CHECK(v.roi.size() == 2 * k, n, "roi has {} entries, expected {}", v.roi.size(),
                    2 * k);
    for (size_t i = 0; i < k; ++i) {
      s.roi[static_cast<size_t>(axes[i])] = v.roi[i];
      s.roi[r + static_cast<size_t>(axes[i])] = v.roi[k + i];
    }
  }

  s.scales.assign(r, 1.0);
  s.out.assign(in.begin(), in.end());
  if (!v.sizes.empty()) {
    SAVE_NODE_CHECK(v.scales.empty(), n, "only one of scales and sizes may be given");
    SAVE_NODE_CHECK(v.sizes.size() == k, n, "sizes has {} entries, expected {}", v.sizes.size(), k);
    std::string policy = a.get_string("keep_aspect_ratio_policy", "stretch");
    SAVE_NODE_CHECK(policy == "stretch" || policy == "not_larger" || policy == "not_smaller", n,
                    "unsupported keep_aspect_ratio_policy '{}'", policy);
    if (policy == "stretch") {
      for (size_t i = 0; i < k; ++i) {
        auto ax = static_cast<size_t>(axes[i]);
        SAVE_NODE_CHECK(v.sizes[i] >= 0, n, "negative size {} in sizes", v.sizes[i]);
        s.out[ax] = v.sizes[i];
        s.scales[ax] = static_cast<double>(v.sizes[i]) / static_cast<double>(in[ax]);
      }
    } else {
      double scale = policy == "not_larger" ? INFINITY : 0.0;
      for (size_t i = 0; i < k; ++i) {
        double si = static_cast<double>(v.sizes[i]) / static_cast<double>(in[axes[i]]);
        scale = policy == "not_larger" ? std::min(scale, si) : std::max(scale, si);
      }
      for (size_t i = 0; i < k; ++i) {
        auto ax = static_cast<size_t>(axes[i]);
        s.scales[ax] = scale;
        s.out[ax] = static_cast<int64_t>(std::round(scale * static_cast<double>(in[ax])));
      }
    }
  } else {
    SAVE_NODE_CHECK(!v.scales.empty(), n, "one of scales and sizes must be given");
    SAVE_NODE_CHECK(v.scales.size() == k, n, "scales has {} entries, expected {}", v.scales.size(),
                    k);
    for (size_t i = 0; i < k; ++i) {
      auto ax = static_cast<size_t>(axes[i]);
      SAVE_NODE_CHECK(v.scales[i] > 0, n, "scales must be positive, got {}", v.scales[i]);
      s.scales[ax] = v.scales[i];
      s.out[ax] = static_cast<int64_t>(std::floor(v.scales[i] * static_cast<double>(in[ax])));
    }
  }
  return s;
}

// Gathers the scales/sizes/roi inputs by op and opset, from `get(i)` which
// returns the values of input i as doubles (empty when absent or empty).
template <typename Get>
ResizeInputs gather_inputs(const Node& n, int64_t opset, Get get) {
  ResizeInputs v;
  const Attributes& a = n.attrs;
  if (n.op == "Upsample") {
    if (a.has("scales")) {
      for (float f : a.get_floats("scales")) v.scales.push_back(f);
    } else if (a.has("height_scale")) {
      v.scales = {1.0, 1.0, a.get_float("height_scale", 1.f), a.get_float("width_scale", 1.f)};
    } else {
      v.scales = get(1);
    }
    return v;
  }
  if (opset < 11) {
    v.scales = get(1);
    return v;
  }
  v.roi = get(1);
  v.scales = get(2);
  for (double d : get(3)) v.sizes.push_back(static_cast<int64_t>(d));
  return v;
}

void resize_infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  auto get = [&](size_t i) -> std::vector<double> {
    if (!mv::nonempty(ctx, i)) return {};
    return ctx.constant(i).to_double();
  };
  ResizeSpec s = resize_spec(ctx.node, ctx.opset, x.shape, gather_inputs(ctx.node, ctx.opset, get));
  ctx.set_output(0, x.dtype, s.out);
}

// One output coordinate along one axis: up to four input taps.
struct Taps {
  int64_t idx[4] = {0, 0, 0, 0};
  double w[4] = {0, 0, 0, 0};
  int n = 0;
  bool outside = false;  // tf_crop_and_resize beyond the input: extrapolation value
};

std::vector<Taps> axis_taps(const ResizeSpec& s, size_t axis, int64_t in_len, int64_t out_len) {
  std::vector<Taps> taps(static_cast<size_t>(out_len));
  double scale = s.scales[axis];
  double in_w = static_cast<double>(in_len);
  // As in the ONNX reference: the "output width" is scale * input width,
  // which differs from out_len when scales (not sizes) are given.
  double out_w = scale * in_w;
  double roi0 = s.roi[axis], roi1 = s.roi[s.roi.size() / 2 + axis];
  for (int64_t o = 0; o < out_len; ++o) {
    Taps& t = taps[static_cast<size_t>(o)];
    double x = static_cast<double>(o), xo;
    const std::string& c = s.coord;
    if (c == "align_corners") {
      xo = out_w == 1 ? 0.0 : x * (in_w - 1) / (out_w - 1);
    } else if (c == "asymmetric") {
      xo = x / scale;
    } else if (c == "tf_crop_and_resize") {
      xo = out_w == 1 ? (roi1 - roi0) * (in_w - 1) / 2
                      : x * (roi1 - roi0) * (in_w - 1) / (out_w - 1);
      xo += roi0 * (in_w - 1);
      if (xo < 0 || xo > in_w - 1) {
        t.outside = true;
        continue;
      }
    } else if (c == "pytorch_half_pixel") {
      xo = out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    } else if (c == "tf_half_pixel_for_nn") {
      xo = (x + 0.5) / scale;
    } else if (c == "half_pixel_symmetric") {
      double adjustment = static_cast<double>(out_len) / out_w;
      double center = in_w / 2;
      xo = center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    } else {  // half_pixel
      xo = (x + 0.5) / scale - 0.5;
    }
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in_len - 1); };
    double f = std::floor(xo);
    auto fi = static_cast<int64_t>(f);
    double ratio = xo - f;
    if (s.mode == "nearest") {
      int64_t i;
      const std::string& m = s.nearest_mode;
      if (m == "simple") {
        i = scale < 1 ? static_cast<int64_t>(std::ceil(xo)) : fi;
      } else if (ratio == 0) {
        i = fi;
      } else if (m == "round_prefer_floor") {
        i = ratio <= 0.5 ? fi : fi + 1;
      } else if (m == "round_prefer_ceil") {
        i = ratio < 0.5 ? fi : fi + 1;
      } else if (m == "floor") {
        i = fi;
      } else {
        i = fi + 1;
      }
      t.idx[0] = clamp(i);
      t.w[0] = 1;
      t.n = 1;
      continue;
    }
    int64_t first;
    if (s.mode == "linear") {
      first = fi;
      t.w[0] = 1 - ratio;
      t.w[1] = ratio;
      t.n = 2;
    } else {
      double A = s.cubic_a;
      // Keys' cubic convolution weights for distances 1 + ratio, ratio,
      // 1 - ratio and 2 - ratio.
      auto far = [A](double d) { return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A; };
      auto near = [A](double d) { return ((A + 2) * d - (A + 3)) * d * d + 1; };
      first = fi - 1;
      t.w[0] = far(ratio + 1);
      t.w[1] = near(ratio);
      t.w[2] = near(1 - ratio);
      t.w[3] = far(2 - ratio);
      t.n = 4;
    }
    double sum = 0;
    for (int j = 0; j < t.n; ++j) {
      int64_t i = first + j;
      if (s.exclude_outside && (i < 0 || i >= in_len)) t.w[j] = 0;
      sum += t.w[j];
      t.idx[j] = clamp(i);
    }
    if (s.exclude_outside && sum != 0)
      for (int j = 0; j < t.n; ++j) t.w[j] /= sum;
    // Drop zero-weight taps (e.g. on axes that are not resized).
    int m = 0;
    for (int j = 0; j < t.n; ++j)
      if (t.w[j] != 0) {
        t.idx[m] = t.idx[j];
        t.w[m++] = t.w[j];
      }
    t.n = m;
  }
  return taps;
}

void resize_ref(const KernelContext& ctx) {
  const Node& n = ctx.node;
  const TensorView& x = ctx.inputs[0];
  const TensorView& out = ctx.outputs[0];
  auto get = [&](size_t i) -> std::vector<double> {
    if (!mv::nonempty(ctx, i)) return {};
    return mv::view_doubles(ctx.inputs[i]);
  };
  ResizeSpec s = resize_spec(n, ctx.opset, x.shape, gather_inputs(n, ctx.opset, get));
  size_t r = x.rank();
  if (out.numel() == 0) return;
  SAVE_NODE_CHECK(x.numel() > 0, n, "cannot resize the empty input of shape {}",
                  shape_str(x.shape));
  std::vector<std::vector<Taps>> taps(r);
  for (size_t d = 0; d < r; ++d) taps[d] = axis_taps(s, d, x.shape[d], out.shape[d]);
  auto strides = shape_strides(x.shape);
  // Row by row (all axes but the last): the outer axes' taps multiply out to
  // a few (offset, weight) pairs per row; each element then sums those pairs
  // over its last-axis taps.
  const std::vector<Taps>& last = taps[r - 1];
  int64_t cols = out.shape[r - 1];
  int64_t rows = out.numel() / cols;
  dispatch_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.ptr<T>();
    T* dst = out.ptr<T>();
#pragma omp parallel for if (rows > 1 && out.numel() > (1 << 15))
    for (int64_t row = 0; row < rows; ++row) {
      std::vector<std::pair<int64_t, double>> combos = {{0, 1.0}}, next;
      bool outside = false;
      int64_t rem = row;
      for (size_t d = r - 1; d-- > 0;) {
        const Taps& t = taps[d][static_cast<size_t>(rem % out.shape[d])];
        rem /= out.shape[d];
        outside = outside || t.outside;
        next.clear();
        for (auto [off, w] : combos)
          for (int j = 0; j < t.n; ++j) next.push_back({off + t.idx[j] * strides[d], w * t.w[j]});
        combos.swap(next);
      }
      T* o = dst + row * cols;
      for (int64_t c = 0; c < cols; ++c) {
        const Taps& t = last[static_cast<size_t>(c)];
        if (outside || t.outside) {
          o[c] = static_cast<T>(s.extrapolation);
          continue;
        }
        double acc = 0;
        for (auto [off, w] : combos) {
          double inner = 0;
          for (int j = 0; j < t.n; ++j) inner += t.w[j] * static_cast<double>(src[off + t.idx[j]]);
          acc += w * inner;
        }
        o[c] = static_cast<T>(acc);
      }
    }
  });
}

// Interval rule: nearest copies and linear interpolation (non-negative
// weights) are non-decreasing in X; roi/scales/sizes must be exact. Cubic
// weights go negative: not monotone, left unbounded.
void resize_interval(const IntervalContext& ctx) {
  std::string mode = ctx.attrs().get_string("mode", "nearest");
  if (mode == "cubic") return ctx.decline();
  const int8_t signs[] = {1, 0, 0, 0};
  monotone(ctx, signs);
}

// ---- fast kernel: float32 nearest / linear over the last two axes ----
// The taps of both axes are computed once at plan time with the reference's
// own axis_taps (so every coordinate mode means the same thing), widened to
// two per output index (a zero weight for nearest); each output row then
// blends two input rows, a loop GCC vectorises (gathers on AVX2). Computed in
// float where the reference accumulates in double: ~1 ulp apart.
class ResizeKernel : public Kernel {
 public:
  struct Axis {
    std::vector<int32_t> i0, i1;
    std::vector<float> w0, w1;
  };
  ResizeKernel(Axis h, Axis w, int64_t planes, int64_t in_h, int64_t in_w, bool nearest)
      : h_(std::move(h)),
        w_(std::move(w)),
        planes_(planes),
        in_h_(in_h),
        in_w_(in_w),
        nearest_(nearest) {}

  void run(const KernelContext& ctx) override {
    const float* src = ctx.inputs[0].ptr<const float>();
    float* dst = ctx.outputs[0].ptr<float>();
    const int64_t out_h = static_cast<int64_t>(h_.i0.size());
    const int64_t out_w = static_cast<int64_t>(w_.i0.size());
    const int64_t rows = planes_ * out_h;
    const int32_t* c0 = w_.i0.data();
    const int32_t* c1 = w_.i1.data();
    const float* cw0 = w_.w0.data();
    const float* cw1 = w_.w1.data();
#pragma omp parallel for schedule(static) if (rows * out_w > (1 << 15))
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t p = row / out_h, oh = row % out_h;
      const float* plane = src + p * in_h_ * in_w_;
      const float* r0 = plane + h_.i0[static_cast<size_t>(oh)] * in_w_;
      float* o = dst + row * out_w;
      if (nearest_) {
#pragma omp simd
        for (int64_t c = 0; c < out_w; ++c) o[c] = r0[c0[c]];
        continue;
      }
      const float* r1 = plane + h_.i1[static_cast<size_t>(oh)] * in_w_;
      const float a = h_.w0[static_cast<size_t>(oh)], b = h_.w1[static_cast<size_t>(oh)];
#pragma omp simd
      for (int64_t c = 0; c < out_w; ++c) {
        const float top = r0[c0[c]] * cw0[c] + r0[c1[c]] * cw1[c];
        const float bottom = r1[c0[c]] * cw0[c] + r1[c1[c]] * cw1[c];
        o[c] = a * top + b * bottom;
      }
    }
  }

 private:
  Axis h_, w_;
  int64_t planes_, in_h_, in_w_;
  bool nearest_;
};

std::unique_ptr<Kernel> resize_make_fast(const PrepareContext& pc) {
  const Node& n = pc.node;
  const TensorInfo& x = *pc.inputs[0];
  if (x.dtype != DType::kF32 || x.shape.size() < 2 || shape_numel(x.shape) == 0) return nullptr;
  bool missing_constant = false;
  auto get = [&](size_t i) -> std::vector<double> {
    if (!pc.has_input(i) || shape_numel(pc.inputs[i]->shape) == 0) return {};
    if (pc.constants[i] == nullptr) {
      missing_constant = true;
      return {};
    }
    return pc.constants[i]->to_double();
  };
  ResizeSpec s = resize_spec(n, pc.opset, x.shape, gather_inputs(n, pc.opset, get));
  if (missing_constant || (s.mode != "nearest" && s.mode != "linear")) return nullptr;
  const size_t r = x.shape.size();
  if (shape_numel(s.out) == 0) return nullptr;
  // Leading axes must be untouched: one tap, the same index, weight 1.
  for (size_t d = 0; d + 2 < r; ++d) {
    if (s.out[d] != x.shape[d]) return nullptr;
    auto taps = axis_taps(s, d, x.shape[d], s.out[d]);
    for (int64_t o = 0; o < s.out[d]; ++o) {
      const Taps& t = taps[static_cast<size_t>(o)];
      if (t.outside || t.n != 1 || t.idx[0] != o || t.w[0] != 1) return nullptr;
    }
  }
  auto axis = [&](size_t d, ResizeKernel::Axis& a) {
    auto taps = axis_taps(s, d, x.shape[d], s.out[d]);
    for (const Taps& t : taps) {
      if (t.outside || t.n < 1 || t.n > 2) return false;  // extrapolation, or no tap
      a.i0.push_back(static_cast<int32_t>(t.idx[0]));
      a.w0.push_back(static_cast<float>(t.w[0]));
      a.i1.push_back(static_cast<int32_t>(t.n == 2 ? t.idx[1] : t.idx[0]));
      a.w1.push_back(t.n == 2 ? static_cast<float>(t.w[1]) : 0.f);
    }
    return true;
  };
  if (x.shape[r - 1] > std::numeric_limits<int32_t>::max() ||
      x.shape[r - 2] > std::numeric_limits<int32_t>::max())
    return nullptr;
  ResizeKernel::Axis h, w;
  if (!axis(r - 2, h) || !axis(r - 1, w)) return nullptr;
  // Nearest needs one tap per axis; linear taps with a single non-zero
  // weight are widened above.
  bool nearest = s.mode == "nearest";
  const int64_t planes = shape_numel(x.shape) / (x.shape[r - 2] * x.shape[r - 1]);
  return std::make_unique<ResizeKernel>(std::move(h), std::move(w), planes, x.shape[r - 2],
                                        x.shape[r - 1], nearest);
}

const OpDef kResize{"Resize", resize_infer, resize_ref, resize_make_fast, false, resize_interval};
const OpDef kUpsample{"Upsample",       resize_infer, resize_ref,
                      resize_make_fast, false,        resize_interval};

}  // namespace

void register_resize_ops(OpRegistry& r) {
  r.add(kResize);
  r.add(kUpsample);
}

}  // namespace save
