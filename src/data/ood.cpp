#include "data/ood.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "core/error.hpp"
#include "inject/rng.hpp"

namespace save {

namespace {

// Uniform in [lo, hi): 24 random bits, exactly representable in float32.
float uniform(Rng& rng, float lo, float hi) {
  float u = static_cast<float>(rng.next() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {  // in [lo, hi]
  return lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)));
}

// The image plane of one row: `planes` planes of h x w (channels, or 1).
struct Geometry {
  int64_t planes = 1, h = 1, w = 1;
};

Geometry geometry(const Shape& shape) {
  Geometry g;
  int64_t row = 1;
  for (size_t i = 1; i < shape.size(); ++i) row *= shape[i];
  if (shape.size() >= 3) {
    g.h = shape[shape.size() - 2];
    g.w = shape[shape.size() - 1];
  } else {
    g.w = row;
  }
  g.planes = g.h * g.w > 0 ? row / (g.h * g.w) : 0;
  return g;
}

// Row i of the set from base row `src` (row-sized), with its own stream.
using Maker = std::function<void(const float* src, float* dst, const Geometry& g, Rng& rng)>;

void shift(const float* src, float* dst, const Geometry& g, Rng& rng) {
  // A translation, never the identity; along a 1-D row only x moves.
  int64_t max_y = g.h > 1 ? std::min<int64_t>(kOodMaxShift, g.h - 1) : 0;
  int64_t max_x = std::min<int64_t>(kOodMaxShift, std::max<int64_t>(g.w - 1, 0));
  int64_t dy = 0, dx = 0;
  while (dy == 0 && dx == 0 && (max_y > 0 || max_x > 0)) {
    dy = uniform_int(rng, -max_y, max_y);
    dx = uniform_int(rng, -max_x, max_x);
  }
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t y = 0; y < g.h; ++y)
      for (int64_t x = 0; x < g.w; ++x) {
        int64_t sy = y - dy, sx = x - dx;
        bool inside = sy >= 0 && sy < g.h && sx >= 0 && sx < g.w;
        dst[(p * g.h + y) * g.w + x] = inside ? src[(p * g.h + sy) * g.w + sx] : 0.0f;
      }
}

void rescale(const float* src, float* dst, const Geometry& g, Rng& rng) {
  // Contrast and brightness far outside what the training images show, then
  // clamped back into the constraint.
  float contrast = uniform(rng, 0.3f, 2.5f), brightness = uniform(rng, -0.3f, 0.3f);
  int64_t n = g.planes * g.h * g.w;
  for (int64_t i = 0; i < n; ++i) dst[i] = std::clamp(contrast * src[i] + brightness, 0.0f, 1.0f);
}

struct SetDef {
  OodSetInfo info;
  bool uses_base;
  Maker make;
};

const std::vector<SetDef>& defs() {
  auto each = [](float (*f)(float, Rng&)) {
    return [f](const float* src, float* dst, const Geometry& g, Rng& rng) {
      int64_t n = g.planes * g.h * g.w;
      for (int64_t i = 0; i < n; ++i) dst[i] = f(src ? src[i] : 0.0f, rng);
    };
  };
  static const std::vector<SetDef> d = {
      {{"noise", "uniform noise in [0, 1], every element independent"},
       false,
       each([](float, Rng& rng) { return uniform(rng, 0.0f, 1.0f); })},
      {{"inverted", "test images inverted (1 - x)"}, true, each([](float x, Rng&) {
         return 1.0f - x;
       })},
      {{"constant-0", "every element 0"}, false, each([](float, Rng&) { return 0.0f; })},
      {{"constant-1", "every element 1"}, false, each([](float, Rng&) { return 1.0f; })},
      {{"shifted",
        fmt::format("test images translated by up to {} pixels per axis, zero fill", kOodMaxShift)},
       true,
       shift},
      {{"rescaled", "test images x contrast in [0.3, 2.5] + brightness in [-0.3, 0.3], clamped"},
       true,
       rescale},
  };
  return d;
}

}  // namespace

const std::vector<OodSetInfo>& ood_sets() {
  static const std::vector<OodSetInfo> sets = [] {
    std::vector<OodSetInfo> s;
    for (const SetDef& d : defs()) s.push_back(d.info);
    return s;
  }();
  return sets;
}

Tensor make_ood_inputs(const std::string& name, const Tensor& base, int64_t n, uint64_t seed) {
  auto it = std::find_if(defs().begin(), defs().end(),
                         [&](const SetDef& d) { return d.info.name == name; });
  if (it == defs().end()) {
    std::vector<std::string> names;
    for (const OodSetInfo& s : ood_sets()) names.push_back(s.name);
    fail("unknown out-of-distribution set '{}' (known: {})", name, fmt::join(names, ", "));
  }
  SAVE_CHECK(n >= 0, "the number of out-of-distribution inputs must be >= 0 (got {})", n);
  SAVE_CHECK(base.dtype() == DType::kF32 && base.rank() >= 2 && base.shape()[0] > 0,
             "out-of-distribution inputs are built from float32 inputs shaped N x ... with N > 0 "
             "(got {} of shape {})",
             dtype_name(base.dtype()), shape_str(base.shape()));
  for (float v : base.values<float>())
    SAVE_CHECK(v >= 0.0f && v <= 1.0f,
               "out-of-distribution inputs stay inside the input constraint [0, 1], but the "
               "base inputs hold {}",
               v);
  Shape shape = base.shape();
  int64_t rows = shape[0];
  shape[0] = n;
  Tensor out(DType::kF32, shape);
  Geometry g = geometry(base.shape());
  int64_t row = g.planes * g.h * g.w;
  for (int64_t i = 0; i < n; ++i) {
    // One stream per input: input i does not depend on n.
    Rng rng(Rng::mix(seed, static_cast<uint64_t>(i)));
    const float* src = it->uses_base ? base.ptr<float>() + (i % rows) * row : nullptr;
    it->make(src, out.ptr<float>() + i * row, g, rng);
  }
  return out;
}

}  // namespace save
