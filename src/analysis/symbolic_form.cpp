// Symbolic linear bounds: the form algebra (see symbolic_form.hpp). Written
// by hand: no Debian library propagates DeepPoly-style linear bounds through
// a float32 inference graph (auto_LiRPA and ERAN are Python research codes
// outside Debian).
#include "analysis/symbolic_form.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace save {

namespace {

constexpr int64_t kBlock = 2048;      // elements per parallel work item
constexpr double kClampSlack = 0.25;  // clamp_to: how much worse a side may be

// The smallest float >= x (x finite).
float float_up(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

SymbolicForm zeros(int64_t rows, int64_t numel) {
  SymbolicForm f{Tensor(DType::kF32, {rows, numel}), Tensor(DType::kF32, {rows, numel})};
  std::fill_n(f.m.ptr<float>(), f.m.numel(), 0.f);
  std::fill_n(f.d.ptr<float>(), f.d.numel(), 0.f);
  return f;
}

// A form of `nout` elements whose element o in row g has upper and lower
// coefficients ul(g, o, row g of M, row g of D) = {u, l} (in double,
// rounded once to float).
template <class UL>
SymbolicForm map_rows(const SymbolicForm& f, int64_t nout, UL ul) {
  const int64_t rows = f.rows(), n = f.numel();
  SymbolicForm out{Tensor(DType::kF32, {rows, nout}), Tensor(DType::kF32, {rows, nout})};
  const float* m = f.m.ptr<float>();
  const float* d = f.d.ptr<float>();
  float* om = out.m.ptr<float>();
  float* od = out.d.ptr<float>();
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < rows; ++g)
    for (int64_t o = 0; o < nout; ++o) {
      const auto [u, l] = ul(g, o, m + g * n, d + g * n);
      om[g * nout + o] = static_cast<float>(0.5 * (u + l));
      od[g * nout + o] = static_cast<float>(0.5 * (u - l));
    }
  return out;
}

}  // namespace

SymbolicForm input_form(int64_t rows, int64_t numel, int64_t first_generator) {
  SAVE_CHECK(first_generator >= 1 && first_generator + numel <= rows,
             "symbolic bounds: generators {}..{} outside {} rows", first_generator,
             first_generator + numel - 1, rows);
  SymbolicForm f = zeros(rows, numel);
  float* m = f.m.ptr<float>();
  for (int64_t e = 0; e < numel; ++e) m[(first_generator + e) * numel + e] = 1.f;
  return f;
}

SymbolicForm constant_form(int64_t rows, std::span<const double> lo, std::span<const double> hi) {
  const auto n = static_cast<int64_t>(lo.size());
  SymbolicForm f = zeros(rows, n);
  float* m = f.m.ptr<float>();
  float* d = f.d.ptr<float>();
  for (int64_t e = 0; e < n; ++e) {
    m[e] = static_cast<float>(0.5 * (lo[e] + hi[e]));
    // The radius from the rounded midpoint, rounded up: [m - d, m + d]
    // covers [lo, hi].
    d[e] = float_up(std::max(hi[e] - m[e], m[e] - lo[e]));
  }
  return f;
}

Concrete concretize(const SymbolicForm& f, const GeneratorBox& box) {
  const int64_t rows = f.rows(), n = f.numel();
  SAVE_CHECK(rows == box.rows(), "symbolic bounds: form of {} rows, box of {} generators", rows,
             box.rows() - 1);
  Concrete c;
  c.lo.assign(static_cast<size_t>(n), 0);
  c.hi.assign(static_cast<size_t>(n), 0);
  c.mag.assign(static_cast<size_t>(n), 0);
  const float* m = f.m.ptr<float>();
  const float* d = f.d.ptr<float>();
  // Each double sum of `rows` terms errs by at most gamma_rows(double) times
  // the sum of absolute terms, which `mag` bounds (x 1 + tiny): widen by it.
  const double slack = static_cast<double>(rows + 2) * 0x1p-52;
#pragma omp parallel for schedule(static)
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock);
    for (int64_t g = 0; g < rows; ++g) {
      const double glo = g == 0 ? 1 : box.lo[static_cast<size_t>(g - 1)];
      const double ghi = g == 0 ? 1 : box.hi[static_cast<size_t>(g - 1)];
      const double r = std::max(std::abs(glo), std::abs(ghi));
      if (r == 0) continue;
      const float* mg = m + g * n;
      const float* dg = d + g * n;
      for (int64_t e = b0; e < b1; ++e) {
        const double cu = static_cast<double>(mg[e]) + dg[e];
        const double cl = static_cast<double>(mg[e]) - dg[e];
        c.hi[e] += cu > 0 ? cu * ghi : cu * glo;
        c.lo[e] += cl > 0 ? cl * glo : cl * ghi;
        c.mag[e] += (std::abs(static_cast<double>(mg[e])) + std::abs(dg[e])) * r;
      }
    }
    for (int64_t e = b0; e < b1; ++e) {
      const double s = slack * c.mag[e];
      c.lo[e] -= s;
      c.hi[e] += s;
    }
  }
  return c;
}

void widen(SymbolicForm& f, std::span<const double> radius) {
  float* d = f.d.ptr<float>();
  for (size_t e = 0; e < radius.size(); ++e) d[e] = float_up(static_cast<double>(d[e]) + radius[e]);
}

SymbolicForm affine(const SymbolicForm& f, std::span<const double> a, std::span<const double> c) {
  return map_rows(f, f.numel(), [&](int64_t g, int64_t e, const float* m, const float* d) {
    const double mid = a[e] * m[e] + (g == 0 && !c.empty() ? c[e] : 0);
    const double rad = std::abs(a[e]) * d[e];
    return std::pair{mid + rad, mid - rad};
  });
}

SymbolicForm add(const SymbolicForm& a, const SymbolicForm& b, double sign) {
  SAVE_CHECK(a.rows() == b.rows() && a.numel() == b.numel(),
             "symbolic bounds: adding forms of {}x{} and {}x{}", a.rows(), a.numel(), b.rows(),
             b.numel());
  const int64_t total = a.m.numel();
  SymbolicForm out{Tensor(DType::kF32, a.m.shape()), Tensor(DType::kF32, a.m.shape())};
  const float* am = a.m.ptr<float>();
  const float* ad = a.d.ptr<float>();
  const float* bm = b.m.ptr<float>();
  const float* bd = b.d.ptr<float>();
  float* om = out.m.ptr<float>();
  float* od = out.d.ptr<float>();
  const auto s = static_cast<float>(sign);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    om[i] = am[i] + s * bm[i];
    od[i] = ad[i] + bd[i];
  }
  return out;
}

SymbolicForm relu(const SymbolicForm& f, std::span<const double> lo, std::span<const double> hi) {
  const int64_t n = f.numel();
  // Per element: U' = lam (U - lo_e * [row 0]), L' = alpha L.
  std::vector<double> lam(static_cast<size_t>(n)), alpha(static_cast<size_t>(n)),
      shift(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e) {
    if (lo[e] >= 0) {
      lam[e] = alpha[e] = 1;
      shift[e] = 0;
    } else if (hi[e] <= 0) {
      lam[e] = alpha[e] = shift[e] = 0;
    } else {
      // Rounded up: the line lam (v - lo) must not fall below v at v = hi.
      lam[e] = hi[e] / (hi[e] - lo[e]) * (1 + 0x1p-50);
      alpha[e] = hi[e] > -lo[e] ? 1 : 0;
      shift[e] = -lam[e] * lo[e];
    }
  }
  return map_rows(f, n, [&](int64_t g, int64_t e, const float* m, const float* d) {
    const double mm = m[e], dd = d[e];
    return std::pair{lam[e] * (mm + dd) + (g == 0 ? shift[e] : 0), alpha[e] * (mm - dd)};
  });
}

SymbolicForm max_over(const SymbolicForm& f, std::span<const double> lo, std::span<const double> hi,
                      std::span<const int64_t> offsets, std::span<const int64_t> windows) {
  const auto nout = static_cast<int64_t>(offsets.size()) - 1;
  std::vector<int64_t> best(static_cast<size_t>(nout));
  std::vector<uint8_t> exact(static_cast<size_t>(nout));
  std::vector<double> top(static_cast<size_t>(nout));
  for (int64_t o = 0; o < nout; ++o) {
    SAVE_CHECK(offsets[o + 1] > offsets[o], "symbolic bounds: empty max window");
    int64_t b = windows[offsets[o]];
    double t = -std::numeric_limits<double>::infinity();
    for (int64_t k = offsets[o]; k < offsets[o + 1]; ++k) {
      if (lo[windows[k]] > lo[b]) b = windows[k];
      t = std::max(t, hi[windows[k]]);
    }
    double others = -std::numeric_limits<double>::infinity();
    for (int64_t k = offsets[o]; k < offsets[o + 1]; ++k)
      if (windows[k] != b) others = std::max(others, hi[windows[k]]);
    best[o] = b;
    exact[o] = lo[b] >= others;
    top[o] = t;
  }
  return map_rows(f, nout, [&](int64_t g, int64_t o, const float* m, const float* d) {
    const int64_t j = best[o];
    const double l = static_cast<double>(m[j]) - d[j];
    const double u = exact[o] ? static_cast<double>(m[j]) + d[j] : (g == 0 ? top[o] : 0);
    return std::pair{u, l};
  });
}

void clamp_to(SymbolicForm& f, Concrete& c, std::span<const float> lo, std::span<const float> hi) {
  const int64_t rows = f.rows(), n = f.numel();
  float* m = f.m.ptr<float>();
  float* d = f.d.ptr<float>();
  // Only where the form is clearly worse: one a hair wider than the
  // interval (the rounding radii differ) still carries the correlation.
  auto worse_up = [&](int64_t e) {
    return c.hi[e] - hi[e] > kClampSlack * (double(hi[e]) - lo[e]);
  };
  auto worse_down = [&](int64_t e) {
    return lo[e] - c.lo[e] > kClampSlack * (double(hi[e]) - lo[e]);
  };
  std::vector<int64_t> cols;
  for (int64_t e = 0; e < n; ++e)
    if (worse_up(e) || worse_down(e)) cols.push_back(e);
#pragma omp parallel for schedule(static)
  for (size_t k = 0; k < cols.size(); ++k) {
    const int64_t e = cols[k];
    const bool up = worse_up(e), down = worse_down(e);
    double mag = 0;
    for (int64_t g = 0; g < rows; ++g) {
      double u = static_cast<double>(m[g * n + e]) + d[g * n + e];
      double l = static_cast<double>(m[g * n + e]) - d[g * n + e];
      if (up) u = g == 0 ? hi[e] : 0;
      if (down) l = g == 0 ? lo[e] : 0;
      m[g * n + e] = static_cast<float>(0.5 * (u + l));
      d[g * n + e] = static_cast<float>(0.5 * (u - l));
      mag += std::abs(u) + std::abs(l);
    }
    // Each coefficient rounded once: the form moves by at most u * mag.
    const double r = 2 * 0x1p-24 * mag;
    d[e] = float_up(static_cast<double>(d[e]) + r);
    if (up) c.hi[e] = static_cast<double>(hi[e]) + r;
    if (down) c.lo[e] = static_cast<double>(lo[e]) - r;
    if (!up) c.hi[e] += r;
    if (!down) c.lo[e] -= r;
    c.mag[e] = mag + r;
  }
}

}  // namespace save
