// The interval rule machinery (see interval.hpp) and the generic rules.
#include "ops/interval.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/fused.hpp"

namespace save {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor alloc_like(const TensorView& v) {
  return Tensor(v.dtype, Shape(v.shape.begin(), v.shape.end()));
}

bool same_bytes(const TensorView& a, const TensorView& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

// A float32 view of a tensor's data (the arithmetic helpers handle float32
// only; float64 models decline to unbounded).
float* f32(const TensorView& v) {
  return v.ptr<float>();
}

bool all_f32(const IntervalContext& ctx, std::span<const int> inputs) {
  for (int i : inputs)
    if (ctx.has_input(static_cast<size_t>(i)) &&
        ctx.lo[static_cast<size_t>(i)].dtype != DType::kF32)
      return false;
  for (const TensorView& o : ctx.out_lo)
    if (o.data != nullptr && o.dtype != DType::kF32) return false;
  return true;
}

// lo = min, hi = max over candidate tensors, elementwise; NaN in any
// candidate makes both bounds NaN (eval_interval then makes them +-inf).
void min_max(std::span<const Tensor> cand, const TensorView& lo, const TensorView& hi) {
  float* l = f32(lo);
  float* h = f32(hi);
  const int64_t n = lo.numel();
  for (int64_t e = 0; e < n; ++e) {
    float mn = kInf, mx = -kInf;
    bool nan = false;
    for (const Tensor& c : cand) {
      const float v = c.ptr<float>()[e];
      nan |= std::isnan(v);
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    l[e] = nan ? kNaN : mn;
    h[e] = nan ? kNaN : mx;
  }
}

std::vector<TensorView> views(std::vector<Tensor>& ts) {
  std::vector<TensorView> v;
  for (Tensor& t : ts) v.push_back(t.defined() ? t.view() : TensorView{});
  return v;
}

// Scratch outputs shaped like the context's outputs.
std::vector<Tensor> scratch_outputs(const IntervalContext& ctx) {
  std::vector<Tensor> out;
  for (const TensorView& o : ctx.out_lo) out.push_back(o.data ? alloc_like(o) : Tensor{});
  return out;
}

// Makes lo/hi ordered for float outputs (a rounding reversal would otherwise
// read as an empty interval).
void order_bounds(const TensorView& lo, const TensorView& hi) {
  float* l = f32(lo);
  float* h = f32(hi);
  for (int64_t e = 0; e < lo.numel(); ++e)
    if (l[e] > h[e]) std::swap(l[e], h[e]);
}

}  // namespace

bool Bounds::exact() const {
  return known && same_bytes(lo.view(), hi.view());
}

Bounds Bounds::unbounded(const TensorInfo& info) {
  Bounds b;
  // Non-float: unknown, but the tensors still say the value is present.
  b.lo = Tensor(info.dtype, info.shape);
  b.hi = b.lo;
  if (!is_float(info.dtype)) return b;
  b.known = true;
  b.hi = Tensor(info.dtype, info.shape);
  dispatch_dtype(info.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      std::fill_n(b.lo.ptr<T>(), b.lo.numel(), -std::numeric_limits<T>::infinity());
      std::fill_n(b.hi.ptr<T>(), b.hi.numel(), std::numeric_limits<T>::infinity());
    }
  });
  return b;
}

Bounds Bounds::point(const Tensor& value) {
  return Bounds{true, value, value};
}

double gamma_n(int64_t n) {
  const double nu = static_cast<double>(std::max<int64_t>(n, 0)) * kUnitRoundoff;
  return nu < 1 ? nu / (1 - nu) : std::numeric_limits<double>::infinity();
}

int64_t dot_terms(const Node& node, std::span<const Shape> in, std::span<const uint8_t> has,
                  std::span<const int64_t> output) {
  auto present = [&](size_t i) { return i < in.size() && i < has.size() && has[i]; };
  auto numel = [](const Shape& s) { return shape_numel(s); };
  // A fused op (ops/fused.hpp) computes its base op's dot products.
  const std::string op = node.domain == kSaveDomain && !base_op_type(node.op).empty()
                             ? base_op_type(node.op)
                             : node.op;
  int64_t n = -1;
  if ((op == "Conv" || op == "ConvTranspose") && present(1) && in[1].size() >= 2) {
    // Conv W [M, C/g, k...]: C/g * prod(k) products per output.
    // ConvTranspose W [C, M/g, k...]: at most C/g * prod(k); C * prod(k) bounds it.
    const int64_t split = op == "Conv" ? in[1][0] : in[1][1];
    n = split > 0 ? numel(in[1]) / split : 0;
  } else if (op == "Gemm" && present(0) && in[0].size() == 2) {
    n = in[0][node.attrs.get_int("transA", 0) ? 0 : 1];
  } else if (op == "MatMul" && present(0) && !in[0].empty()) {
    n = in[0].back();
  } else if (op == "Einsum") {
    // Terms per output = product of the contracted dims <= product of the
    // operands' sizes over the output's size (every index occurs somewhere).
    double p = 1;
    for (size_t i = 0; i < in.size(); ++i)
      if (present(i)) p *= static_cast<double>(numel(in[i]));
    const double out = static_cast<double>(std::max<int64_t>(shape_numel(output), 1));
    n = static_cast<int64_t>(std::min(std::ceil(p / out), 1e15));
  } else {
    return -1;
  }
  const bool bias = (op == "Conv" || op == "ConvTranspose" || op == "Gemm") && present(2);
  return n + (bias ? 1 : 0);
}

int64_t sum_terms(const Node& node, std::span<const int64_t> input0,
                  std::span<const int64_t> output) {
  const std::string& op = node.op;
  const int64_t in = shape_numel(input0), out = std::max<int64_t>(shape_numel(output), 1);
  if (op == "ReduceSum" || op == "ReduceMean" || op == "GlobalAveragePool")
    return std::max<int64_t>(in / out, 1);  // each input element feeds one output
  if (op == "AveragePool") {
    int64_t k = 1;
    for (int64_t d : node.attrs.get_ints("kernel_shape")) k *= std::max<int64_t>(d, 1);
    return k;
  }
  if (op == "CumSum") {
    int64_t m = 1;
    for (int64_t d : input0) m = std::max(m, d);  // the axis' length, at most
    return m;
  }
  return -1;
}

void IntervalContext::decline() const {
  for (size_t i = 0; i < out_lo.size(); ++i) out_known[i] = 0;
}

void IntervalContext::run_reference(std::span<const TensorView> inputs,
                                    std::span<const TensorView> outputs) const {
  KernelContext k{node, inputs, outputs, 0, opset};
  def.reference(k);
}

namespace {

// Float outputs: NaN -> +-inf, then widen by the rounding allowance.
void finish_float(Bounds& b, const IntervalOptions& o, bool widen) {
  if (b.lo.dtype() != DType::kF32) {
    // float64: only NaN cleanup (rules rarely produce these).
    double* l = b.lo.ptr<double>();
    double* h = b.hi.ptr<double>();
    for (int64_t e = 0; e < b.lo.numel(); ++e) {
      if (std::isnan(l[e])) l[e] = -std::numeric_limits<double>::infinity();
      if (std::isnan(h[e])) h[e] = std::numeric_limits<double>::infinity();
    }
    return;
  }
  float* l = b.lo.ptr<float>();
  float* h = b.hi.ptr<float>();
  const int64_t n = b.lo.numel();
  double max_abs = 0;
  for (int64_t e = 0; e < n; ++e) {
    if (std::isnan(l[e])) l[e] = -kInf;
    if (std::isnan(h[e])) h[e] = kInf;
    if (std::isfinite(l[e])) max_abs = std::max(max_abs, std::fabs(double(l[e])));
    if (std::isfinite(h[e])) max_abs = std::max(max_abs, std::fabs(double(h[e])));
  }
  if (!widen) return;
  for (int64_t e = 0; e < n; ++e) {
    const double m =
        o.rel_margin * (std::fabs(double(l[e])) + std::fabs(double(h[e]))) + o.abs_margin * max_abs;
    // Computed in double and rounded outward: the float result of lo - m
    // must not round back above lo - m.
    l[e] = std::nextafter(static_cast<float>(double(l[e]) - m), -kInf);
    h[e] = std::nextafter(static_cast<float>(double(h[e]) + m), kInf);
  }
}

}  // namespace

std::vector<Bounds> eval_interval(const OpDef& def, const Node& node, int64_t opset,
                                  const std::vector<Bounds>& inputs,
                                  const std::vector<TensorInfo>& outputs,
                                  const IntervalOptions& opts) {
  const size_t ni = inputs.size(), no = outputs.size();
  std::vector<TensorView> lo(ni), hi(ni);
  std::vector<uint8_t> in_known(ni, 0), in_exact(ni, 0);
  bool all_exact = true;
  for (size_t i = 0; i < ni; ++i) {
    if (inputs[i].known) {
      lo[i] = inputs[i].lo.view();
      hi[i] = inputs[i].hi.view();
      in_known[i] = 1;
      in_exact[i] = inputs[i].exact();
      all_exact &= in_exact[i] != 0;
    } else if (inputs[i].lo.defined()) {
      // Present but unknown: shape and dtype without data (has_input holds).
      lo[i] = hi[i] = TensorView{inputs[i].lo.dtype(), inputs[i].lo.shape(), nullptr};
      all_exact = false;
    }
  }
  std::vector<Bounds> out(no);
  std::vector<TensorView> out_lo(no), out_hi(no);
  for (size_t i = 0; i < no; ++i) {
    if (outputs[i].dtype == DType::kUndefined) continue;
    out[i].lo = Tensor(outputs[i].dtype, outputs[i].shape);
    out[i].hi = Tensor(outputs[i].dtype, outputs[i].shape);
    out_lo[i] = out[i].lo.view();
    out_hi[i] = out[i].hi.view();
  }
  std::vector<uint8_t> out_known(no, 1);
  bool exact_arith = false;
  IntervalContext ctx{
      node,        opset, def, opts, lo, hi, in_known, in_exact, out_lo, out_hi, out_known.data(),
      &exact_arith};
  bool ran = false;
  try {
    std::vector<Shape> in_shapes(ni);
    std::vector<uint8_t> in_has(ni, 0);
    for (size_t i = 0; i < ni; ++i) {
      in_has[i] = lo[i].present() ? 1 : 0;
      if (in_has[i]) in_shapes[i].assign(lo[i].shape.begin(), lo[i].shape.end());
    }
    const std::span<const int64_t> out0 =
        no > 0 ? std::span<const int64_t>(outputs[0].shape) : std::span<const int64_t>{};
    // Sums round by up to gamma_n times the sum of |terms|, which can exceed
    // the result's own size (cancellation): their rules add that allowance,
    // so they run also when every input is exact.
    const bool sums =
        def.interval != nullptr && (dot_terms(node, in_shapes, in_has, out0) >= 0 ||
                                    (ni > 0 && sum_terms(node, in_shapes[0], out0) >= 0));
    if (all_exact && !sums) {
      // Every input known exactly: the output is the op's value (still
      // widened below: a fast kernel may round differently).
      ctx.run_reference(lo, out_lo);
      for (size_t i = 0; i < no; ++i)
        if (out[i].lo.defined())
          std::memcpy(out[i].hi.data(), out[i].lo.data(), out[i].lo.nbytes());
      ran = true;
    } else if (def.interval != nullptr) {
      def.interval(ctx);
      ran = true;
    }
  } catch (const std::exception&) {
    ran = false;  // a rule that cannot handle this node: unbounded, still sound
  }
  for (size_t i = 0; i < no; ++i) {
    if (outputs[i].dtype == DType::kUndefined) {
      out[i] = Bounds{};
      continue;
    }
    if (!ran || !out_known[i]) {
      out[i] = Bounds::unbounded(outputs[i]);
      continue;
    }
    out[i].known = true;
    if (is_float(outputs[i].dtype)) finish_float(out[i], opts, !exact_arith);
  }
  return out;
}

// ---- generic rules ----

void monotone(const IntervalContext& ctx, std::span<const int8_t> signs) {
  const size_t n = ctx.num_inputs();
  std::vector<TensorView> a(n), b(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) continue;  // omitted: null views
    if (!ctx.known(i)) return ctx.decline();
    const int8_t s = i < signs.size() ? signs[i] : (is_float(ctx.lo[i].dtype) ? 1 : 0);
    if (s == 0 && !ctx.exact(i)) return ctx.decline();
    a[i] = s >= 0 ? ctx.lo[i] : ctx.hi[i];
    b[i] = s >= 0 ? ctx.hi[i] : ctx.lo[i];
  }
  ctx.run_reference(a, ctx.out_lo);
  ctx.run_reference(b, ctx.out_hi);
  for (size_t o = 0; o < ctx.out_lo.size(); ++o) {
    if (ctx.out_lo[o].data == nullptr) continue;
    if (ctx.out_lo[o].dtype == DType::kF32)
      order_bounds(ctx.out_lo[o], ctx.out_hi[o]);
    else if (!same_bytes(ctx.out_lo[o], ctx.out_hi[o]))
      ctx.out_known[o] = 0;  // indices, masks: not monotone, unknown unless equal
  }
}

void interval_monotone(const IntervalContext& ctx) {
  monotone(ctx, {});
}

void interval_copy(const IntervalContext& ctx) {
  *ctx.exact_arith = true;
  monotone(ctx, {});
}

void pivot_rule(const IntervalContext& ctx, double pivot, double slack) {
  const int in0[] = {0};
  if (!ctx.known(0) || !all_f32(ctx, in0)) return ctx.decline();
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && !ctx.exact(i)) return ctx.decline();
  const TensorView& lo = ctx.lo[0];
  const TensorView& hi = ctx.hi[0];
  Tensor mid = alloc_like(lo);
  const float p = static_cast<float>(pivot);
  for (int64_t e = 0; e < lo.numel(); ++e)
    mid.ptr<float>()[e] = std::clamp(p, f32(lo)[e], std::max(f32(lo)[e], f32(hi)[e]));
  std::vector<TensorView> in(ctx.lo.begin(), ctx.lo.end());
  std::vector<Tensor> cand;
  for (const TensorView* x : {&lo, &hi}) {
    std::vector<Tensor> o = scratch_outputs(ctx);
    in[0] = *x;
    ctx.run_reference(in, views(o));
    cand.push_back(o[0]);
  }
  std::vector<Tensor> o = scratch_outputs(ctx);
  in[0] = mid.view();
  ctx.run_reference(in, views(o));
  // The pivot's value is the candidate for the minimum: lower it by slack.
  for (int64_t e = 0; e < o[0].numel(); ++e) o[0].ptr<float>()[e] -= static_cast<float>(slack);
  cand.push_back(o[0]);
  min_max(cand, ctx.out_lo[0], ctx.out_hi[0]);
  for (size_t i = 1; i < ctx.out_lo.size(); ++i) ctx.out_known[i] = 0;
}

void corners(const IntervalContext& ctx) {
  const int in01[] = {0, 1};
  if (!ctx.known(0) || !ctx.known(1) || !all_f32(ctx, in01)) return ctx.decline();
  TensorView blo = ctx.lo[1], bhi = ctx.hi[1];
  Tensor blo_c, bhi_c;
  if (ctx.node.op == "Div") {
    // Where the divisor's interval holds 0 the quotient is unbounded: NaN
    // divisors make exactly the outputs reading them NaN, then +-inf.
    blo_c = alloc_like(blo);
    bhi_c = alloc_like(bhi);
    for (int64_t e = 0; e < blo.numel(); ++e) {
      const float l = f32(blo)[e], h = f32(bhi)[e];
      const bool zero = l <= 0.f && h >= 0.f;
      blo_c.ptr<float>()[e] = zero ? kNaN : l;
      bhi_c.ptr<float>()[e] = zero ? kNaN : h;
    }
    blo = blo_c.view();
    bhi = bhi_c.view();
  }
  std::vector<Tensor> cand;
  for (const TensorView* a : {&ctx.lo[0], &ctx.hi[0]})
    for (const TensorView* b : {&blo, &bhi}) {
      std::vector<Tensor> o = scratch_outputs(ctx);
      const TensorView in[] = {*a, *b};
      ctx.run_reference(in, views(o));
      cand.push_back(o[0]);
    }
  min_max(cand, ctx.out_lo[0], ctx.out_hi[0]);
}

void widen_abs(const IntervalContext& ctx, double m) {
  for (size_t o = 0; o < ctx.out_lo.size(); ++o) {
    if (ctx.out_lo[o].dtype != DType::kF32) continue;
    for (int64_t e = 0; e < ctx.out_lo[o].numel(); ++e) {
      f32(ctx.out_lo[o])[e] -= static_cast<float>(m);
      f32(ctx.out_hi[o])[e] += static_cast<float>(m);
    }
  }
}

namespace {

// Elementwise helpers on float32 tensors of equal shape.
template <typename F>
Tensor map1(const TensorView& a, F f) {
  Tensor t = alloc_like(a);
  for (int64_t e = 0; e < a.numel(); ++e) t.ptr<float>()[e] = f(f32(a)[e]);
  return t;
}
template <typename F>
Tensor map2(const TensorView& a, const TensorView& b, F f) {
  Tensor t = alloc_like(a);
  for (int64_t e = 0; e < a.numel(); ++e) t.ptr<float>()[e] = f(f32(a)[e], f32(b)[e]);
  return t;
}

}  // namespace

void interval_sum(const IntervalContext& ctx) {
  const int in0[] = {0};
  if (!ctx.known(0) || !all_f32(ctx, in0)) return ctx.decline();
  monotone(ctx, {});
  if (ctx.out_lo.empty() || ctx.out_lo[0].data == nullptr || !ctx.out_known[0]) return;
  const double gd = ctx.opts.accum_gammas *
                    gamma_n(sum_terms(ctx.node, ctx.lo[0].shape, ctx.out_lo[0].shape) + 1);
  if (!(gd < 0.25)) return ctx.decline();
  // op(max(|lo|, |hi|)) bounds the sum of |terms| (the op is a sum or mean
  // with non-negative weights).
  Tensor mag = map2(ctx.lo[0], ctx.hi[0],
                    [](float l, float h) { return std::max(std::fabs(l), std::fabs(h)); });
  std::vector<TensorView> in(ctx.lo.begin(), ctx.lo.end());
  in[0] = mag.view();
  std::vector<Tensor> o = scratch_outputs(ctx);
  ctx.run_reference(in, views(o));
  const float g = static_cast<float>(gd);
  for (int64_t e = 0; e < o[0].numel(); ++e) {
    const float m = g * o[0].ptr<float>()[e];
    f32(ctx.out_lo[0])[e] -= m;
    f32(ctx.out_hi[0])[e] += m;
  }
}

void multilinear(const IntervalContext& ctx, std::span<const int> factors, int bias) {
  std::vector<int> all(factors.begin(), factors.end());
  if (bias >= 0) all.push_back(bias);
  if (!all_f32(ctx, all)) return ctx.decline();
  std::vector<int> var;
  for (int f : factors) {
    const size_t i = static_cast<size_t>(f);
    if (!ctx.known(i)) return ctx.decline();
    if (!ctx.exact(i)) var.push_back(f);
  }
  if (bias >= 0 && ctx.has_input(static_cast<size_t>(bias)) &&
      !ctx.exact(static_cast<size_t>(bias)))
    return ctx.decline();
  if (var.size() > 2) return ctx.decline();
  const size_t n = ctx.num_inputs();
  // Accumulation allowance: g * (|W| (|x_c| + x_r) + |b|) bounds the
  // rounding of the real kernel (gamma_n, any summation order) and of this
  // rule's own float evaluation of centre and radius (IntervalOptions).
  std::vector<Shape> shapes(n);
  std::vector<uint8_t> has(n, 0);
  for (size_t i = 0; i < n; ++i) {
    has[i] = ctx.has_input(i) ? 1 : 0;
    if (has[i]) shapes[i].assign(ctx.lo[i].shape.begin(), ctx.lo[i].shape.end());
  }
  const double gd =
      ctx.opts.accum_gammas * gamma_n(dot_terms(ctx.node, shapes, has, ctx.out_lo[0].shape));
  if (!(gd < 0.25)) return ctx.decline();  // too long a sum for a useful bound
  const float g = static_cast<float>(gd);
  // Centers, radii and |center| of every factor (exact ones: radius 0).
  std::vector<Tensor> c(n), r(n), ac(n);
  for (int f : factors) {
    const size_t i = static_cast<size_t>(f);
    if (ctx.exact(i)) {
      c[i] = Tensor(ctx.lo[i].dtype, Shape(ctx.lo[i].shape.begin(), ctx.lo[i].shape.end()));
      std::memcpy(c[i].data(), ctx.lo[i].data, ctx.lo[i].nbytes());
    } else {
      c[i] = map2(ctx.lo[i], ctx.hi[i], [](float l, float h) { return l + (h - l) * 0.5f; });
      r[i] = map2(ctx.lo[i], ctx.hi[i], [](float l, float h) { return (h - l) * 0.5f; });
    }
    ac[i] = map1(c[i].view(), [](float v) { return std::fabs(v); });
  }
  auto run = [&](auto pick) {
    std::vector<TensorView> in(n);
    for (size_t i = 0; i < n; ++i) in[i] = pick(i);
    std::vector<Tensor> o = scratch_outputs(ctx);
    ctx.run_reference(in, views(o));
    return o[0];
  };
  auto is_factor = [&](size_t i) {
    return std::find(factors.begin(), factors.end(), static_cast<int>(i)) != factors.end();
  };
  // Center: the op at the midpoints with the bias.
  Tensor center = run([&](size_t i) { return is_factor(i) ? c[i].view() : ctx.lo[i]; });
  // Radius: products with |.| of every factor, the bias left out.
  Tensor rad;
  auto accumulate = [&](Tensor t) {
    if (!rad.defined()) {
      rad = t;
      return;
    }
    for (int64_t e = 0; e < rad.numel(); ++e) rad.ptr<float>()[e] += t.ptr<float>()[e];
  };
  auto other = [&](size_t i) { return is_factor(i) ? ac[i].view() : TensorView{}; };
  // |b| (exact) and g |b|: the bias' share of the accumulation allowance.
  const bool has_bias = bias >= 0 && ctx.has_input(static_cast<size_t>(bias));
  Tensor abs_b, g_abs_b;
  if (has_bias) {
    abs_b = map1(ctx.lo[static_cast<size_t>(bias)], [](float v) { return std::fabs(v); });
    g_abs_b = map1(abs_b.view(), [g](float v) { return g * v; });
  }
  // Non-factor inputs (none in the ops using this) are kept as is; the
  // bias is left out, or replaced by `b` where given.
  auto keep_with = [&](size_t i, const Tensor& b) {
    if (static_cast<int>(i) == bias) return b.defined() ? b.view() : TensorView{};
    return is_factor(i) ? TensorView{} : ctx.lo[i];
  };
  auto keep = [&](size_t i) { return keep_with(i, Tensor{}); };
  if (var.empty()) {
    // Exact inputs: only the allowance, g (|W| |x| + |b|).
    Tensor acc = run([&](size_t i) { return is_factor(i) ? other(i) : keep_with(i, abs_b); });
    for (int64_t e = 0; e < acc.numel(); ++e) acc.ptr<float>()[e] *= g;
    accumulate(acc);
  } else if (var.size() == 1) {
    // |W| (x_r + g (|x_c| + x_r)) + g |b| in one run.
    const size_t v = static_cast<size_t>(var[0]);
    Tensor rin =
        map2(r[v].view(), ac[v].view(), [g](float rr, float a) { return rr + g * (a + rr); });
    accumulate(run([&](size_t i) {
      if (i == v) return rin.view();
      return is_factor(i) ? other(i) : keep_with(i, g_abs_b);
    }));
  } else if (var.size() == 2) {
    const size_t a = static_cast<size_t>(var[0]), b = static_cast<size_t>(var[1]);
    Tensor a_abs_r = map2(ac[a].view(), r[a].view(), [](float x, float y) { return x + y; });
    Tensor b_abs_r = map2(ac[b].view(), r[b].view(), [](float x, float y) { return x + y; });
    // (|Ac| + Ar) Br + Ar |Bc| = |Ac| Br + Ar |Bc| + Ar Br (Rump), plus the
    // accumulation allowance g (|Ac| + Ar)(|Bc| + Br).
    auto pick2 = [&](TensorView va, TensorView vb) {
      return run([&](size_t i) {
        if (i == a) return va;
        if (i == b) return vb;
        return is_factor(i) ? other(i) : keep(i);
      });
    };
    accumulate(pick2(a_abs_r.view(), r[b].view()));
    accumulate(pick2(r[a].view(), ac[b].view()));
    Tensor acc = run([&](size_t i) {
      if (i == a) return a_abs_r.view();
      if (i == b) return b_abs_r.view();
      return is_factor(i) ? other(i) : keep_with(i, abs_b);
    });
    for (int64_t e = 0; e < acc.numel(); ++e) acc.ptr<float>()[e] *= g;
    accumulate(acc);
  }
  float* lo = f32(ctx.out_lo[0]);
  float* hi = f32(ctx.out_hi[0]);
  for (int64_t e = 0; e < center.numel(); ++e) {
    // |.|: an op scaling by a negative factor (Gemm alpha < 0) flips signs.
    const float rr = rad.defined() ? std::fabs(rad.ptr<float>()[e]) : 0.f;
    lo[e] = center.ptr<float>()[e] - rr;
    hi[e] = center.ptr<float>()[e] + rr;
  }
  for (size_t i = 1; i < ctx.out_lo.size(); ++i) ctx.out_known[i] = 0;
}

}  // namespace save
