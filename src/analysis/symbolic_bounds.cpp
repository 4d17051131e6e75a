// The symbolic pass of the range analysis: per-op rules over the forms of
// symbolic_form.hpp, run on the engine's own kernels (run_single_node) with
// the G rows of a form as the batch.
#include "analysis/symbolic_bounds.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "analysis/symbolic_form.hpp"
#include "core/error.hpp"
#include "exec/single_node.hpp"
#include "ops/fused.hpp"
#include "ops/window.hpp"

namespace save {

namespace {

// Relative rounding of the form algebra's own float results (each
// coefficient is rounded once or twice; x4 for safety).
constexpr double kFormRounding = 8 * kUnitRoundoff;

struct Entry {
  SymbolicForm form;
  Concrete conc;
};
using EntryPtr = std::shared_ptr<const Entry>;

float float_down(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}
float float_up(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

Tensor abs_of(const Tensor& t) {
  Tensor r = t.clone();
  float* p = r.ptr<float>();
  for (int64_t i = 0; i < r.numel(); ++i) p[i] = std::fabs(p[i]);
  return r;
}

// The node as its plain ONNX base op, without post-ops.
Node base_node(const Node& n, const std::string& base) {
  Node b;
  b.name = n.name;
  b.op = base;
  for (const auto& [k, v] : n.attrs.all())
    if (k.rfind("fused_", 0) != 0) b.attrs.set(k, v);
  return b;
}

Tensor run_fast(const Node& node, const std::vector<Tensor>& inputs, int64_t opset) {
  SingleNodeResult r = run_single_node(node, inputs, KernelChoice::kFast, opset, true, 1);
  return std::move(r.outputs[0]);
}

// A form's bounds widened by `radius` plus the rounding of its coefficients
// (kFormRounding x magnitude) plus `runtime_rel` x |value| (the rounding of
// the float op the engine runs).
Entry finish(SymbolicForm f, std::span<const double> radius, double runtime_rel,
             const GeneratorBox& box) {
  Concrete c = concretize(f, box);
  std::vector<double> r(c.lo.size());
  for (size_t e = 0; e < r.size(); ++e) {
    r[e] = (radius.empty() ? 0 : radius[e]) + kFormRounding * c.mag[e] +
           runtime_rel * std::max(std::fabs(c.lo[e]), std::fabs(c.hi[e]));
    c.lo[e] -= r[e];
    c.hi[e] += r[e];
    c.mag[e] += r[e];
  }
  widen(f, r);
  return {std::move(f), std::move(c)};
}

// Per element of a value: max |x| over its bounds plus its form's
// magnitude, rounded up -- what the rounding radius of a linear map of the
// value scales with.
Tensor magnitude(const Bounds& b, const Entry& x) {
  Tensor mag(DType::kF32, b.lo.shape());
  const float* l = b.lo.ptr<float>();
  const float* h = b.hi.ptr<float>();
  for (int64_t e = 0; e < mag.numel(); ++e)
    mag.ptr<float>()[e] =
        float_up(std::max(std::fabs(double(l[e])), std::fabs(double(h[e]))) + x.conc.mag[e]);
  return mag;
}

bool finite_f32(const Bounds& b) {
  if (!b.known || b.lo.dtype() != DType::kF32) return false;
  const float* l = b.lo.ptr<float>();
  const float* h = b.hi.ptr<float>();
  for (int64_t e = 0; e < b.lo.numel(); ++e)
    if (!std::isfinite(l[e]) || !std::isfinite(h[e])) return false;
  return true;
}

}  // namespace

struct SymbolicBounds::State {
  const Plan& plan;
  SymbolicOptions opts;
  IntervalOptions iopts;
  GeneratorBox box;
  std::vector<EntryPtr> forms;    // by ValueId
  std::vector<int64_t> last_use;  // by ValueId: last step reading it, -1 none
  double live_bytes = 0;

  State(const Plan& p, const SymbolicOptions& o, const IntervalOptions& i)
      : plan(p), opts(o), iopts(i) {}

  int64_t rows() const { return box.rows(); }

  // `c` (float32) broadcast to `shape`, as doubles; empty when it does not
  // broadcast to exactly that shape.
  std::vector<double> broadcast(const Tensor& c, const Shape& shape) const {
    if (c.dtype() != DType::kF32) return {};
    if (c.shape() == shape) return c.to_double();
    Node add;
    add.name = "symbolic broadcast";
    add.op = "Add";
    Tensor z(DType::kF32, shape);
    std::fill_n(z.ptr<float>(), z.numel(), 0.f);
    SingleNodeResult r = run_single_node(add, {z, c}, KernelChoice::kReference, plan.graph().opset);
    if (r.outputs[0].shape() != shape) return {};
    return r.outputs[0].to_double();
  }

  // The form of step input `v` as an operand of a `numel`-element output:
  // its own form, or a constant form from its bounds (broadcast), or null.
  EntryPtr operand(ValueId v, const Shape& out_shape, const std::vector<Bounds>& bounds) const {
    const int64_t n = shape_numel(out_shape);
    if (forms[v]) return forms[v]->form.numel() == n ? forms[v] : nullptr;
    const Bounds& b = bounds[v];
    if (!finite_f32(b)) return nullptr;
    const std::vector<double> lo = broadcast(b.lo, out_shape), hi = broadcast(b.hi, out_shape);
    if (lo.empty() || hi.empty()) return nullptr;
    auto e = std::make_shared<Entry>();
    e->form = constant_form(rows(), lo, hi);
    e->conc = concretize(e->form, box);
    return e;
  }

  // Conv / Gemm / MatMul on a form (input 0) with constant weights:
  // M' = W M (+ bias in row 0), D' = |W| D, plus the rounding radius
  // accum_gammas gamma_n (|W| (mag + |x|) + |b|).
  std::optional<Entry> dot(const std::string& base, const Node& n, const PlannedStep& step,
                           const std::vector<Bounds>& bounds) const {
    const ValueId xv = step.inputs[0];
    if (step.inputs.size() < 2 || !forms[xv]) return std::nullopt;
    const Entry& x = *forms[xv];
    const ValueId wv = step.inputs[1];
    if (wv == kNoId || !bounds[wv].known || !bounds[wv].exact() ||
        bounds[wv].lo.dtype() != DType::kF32)
      return std::nullopt;
    const Tensor& w = bounds[wv].lo;
    const Tensor wabs = abs_of(w);
    Tensor bias;
    if (base != "MatMul" && step.inputs.size() > 2 && step.inputs[2] != kNoId) {
      const Bounds& bb = bounds[step.inputs[2]];
      if (!bb.known || !bb.exact() || bb.lo.dtype() != DType::kF32) return std::nullopt;
      bias = bb.lo;
    }
    const Shape& s = bounds[xv].lo.shape();
    const int64_t g = rows(), nin = shape_numel(s);
    const Tensor mag = magnitude(bounds[xv], x);
    Node bm, bd;
    Shape rows_shape;
    int64_t terms = 0;
    const int64_t opset = plan.graph().opset;
    Tensor mo, dd, eo;
    if (base == "Conv") {
      if (s.size() < 3 || w.rank() != s.size()) return std::nullopt;
      rows_shape = s;
      rows_shape[0] = g * s[0];
      bm = bd = base_node(n, "Conv");
      terms = w.numel() / std::max<int64_t>(w.shape()[0], 1) + (bias.defined() ? 1 : 0);
      mo = run_fast(bm, {x.form.m.reshaped(rows_shape), w}, opset);
      dd = run_fast(bd, {x.form.d.reshaped(rows_shape), wabs}, opset);
      eo = run_fast(bd, {mag, wabs}, opset);
    } else if (base == "Gemm") {
      if (s.size() != 2 || n.attrs.get_int("transA", 0) != 0 || w.rank() != 2) return std::nullopt;
      const bool tb = n.attrs.get_int("transB", 0) != 0;
      bm = bd = base_node(n, "Gemm");
      bd.attrs.set("alpha", std::fabs(n.attrs.get_float("alpha", 1.f)));
      terms = w.shape()[tb ? 1 : 0] + 1;
      mo = run_fast(bm, {x.form.m.reshaped({g * s[0], s[1]}), w}, opset);
      dd = run_fast(bd, {x.form.d.reshaped({g * s[0], s[1]}), wabs}, opset);
      eo = run_fast(bd, {mag, wabs}, opset);
    } else {  // MatMul, weights [K, N] on the right
      if (w.rank() != 2 || s.empty() || s.back() != w.shape()[0]) return std::nullopt;
      const int64_t k = w.shape()[0];
      bm = bd = base_node(n, "MatMul");
      terms = k;
      mo = run_fast(bm, {x.form.m.reshaped({g * nin / k, k}), w}, opset);
      dd = run_fast(bd, {x.form.d.reshaped({g * nin / k, k}), wabs}, opset);
      eo = run_fast(bd, {mag.reshaped({nin / k, k}), wabs}, opset);
    }
    const int64_t nout = eo.numel();
    if (mo.numel() != g * nout) return std::nullopt;
    SymbolicForm f{mo.reshaped({g, nout}), dd.reshaped({g, nout})};
    const double gam = iopts.accum_gammas * gamma_n(terms);
    std::vector<double> radius(static_cast<size_t>(nout));
    std::vector<double> b(static_cast<size_t>(nout), 0);
    if (bias.defined()) {
      if (base == "Conv") {
        // Per output channel (dim 1).
        const int64_t co = eo.shape()[1], inner = nout / (eo.shape()[0] * co);
        for (int64_t e = 0; e < nout; ++e) b[e] = bias.ptr<float>()[(e / inner) % co];
      } else {
        const double beta = n.attrs.get_float("beta", 1.f);
        b = broadcast(bias, eo.shape());
        if (b.empty()) return std::nullopt;
        for (double& v : b) v *= beta;
      }
    }
    float* m0 = f.m.ptr<float>();
    for (int64_t e = 0; e < nout; ++e) {
      m0[e] = static_cast<float>(m0[e] + b[e]);
      radius[e] = gam * (double(eo.ptr<float>()[e]) + std::fabs(b[e]));
    }
    return finish(std::move(f), radius, 0, box);
  }

  // A fused op's post-ops applied to the base op's form.
  std::optional<Entry> post_ops(Entry e, const Node& n, const std::string& base,
                                const PlannedStep& step, const Shape& out_shape,
                                const std::vector<Bounds>& bounds) const {
    size_t operand = base_input_count(base);
    for (const PostOp& p : get_post_ops(n)) {
      if (p.op == "Relu") {
        e = finish(relu(e.form, e.conc.lo, e.conc.hi), {}, 0, box);
        continue;
      }
      if (!p.binary() || operand >= step.inputs.size()) return std::nullopt;
      const ValueId v = step.inputs[operand++];
      if (p.op == "Add") {
        const EntryPtr o = operand_entry(v, out_shape, bounds);
        if (!o || o->form.numel() != e.form.numel()) return std::nullopt;
        e = finish(add(e.form, o->form, 1), {}, 2 * kUnitRoundoff, box);
      } else {  // Mul by a constant
        if (!bounds[v].known || !bounds[v].exact()) return std::nullopt;
        const std::vector<double> a = broadcast(bounds[v].lo, out_shape);
        if (a.empty()) return std::nullopt;
        e = finish(affine(e.form, a, {}), {}, 2 * kUnitRoundoff, box);
      }
    }
    return e;
  }

  EntryPtr operand_entry(ValueId v, const Shape& out_shape,
                         const std::vector<Bounds>& bounds) const {
    return operand(v, out_shape, bounds);
  }

  // Pools with non-negative weights (averages): M' = P M, D' = P D.
  std::optional<Entry> pool(const Node& n, const PlannedStep& step,
                            const std::vector<Bounds>& bounds) const {
    const ValueId xv = step.inputs[0];
    const Entry& x = *forms[xv];
    const Shape& s = bounds[xv].lo.shape();
    if (s.size() < 3) return std::nullopt;
    const int64_t g = rows();
    Shape rows_shape = s;
    rows_shape[0] = g * s[0];
    Node p = base_node(n, n.op);
    const int64_t opset = plan.graph().opset;
    const Tensor mag = magnitude(bounds[xv], x);
    Tensor mo = run_fast(p, {x.form.m.reshaped(rows_shape)}, opset);
    Tensor dd = run_fast(p, {x.form.d.reshaped(rows_shape)}, opset);
    Tensor eo = run_fast(p, {mag}, opset);
    const int64_t nout = eo.numel();
    const int64_t terms = sum_terms(n, s, eo.shape());
    if (terms < 0) return std::nullopt;
    const double gam = iopts.accum_gammas * gamma_n(terms + 1);
    std::vector<double> radius(static_cast<size_t>(nout));
    for (int64_t e = 0; e < nout; ++e) radius[e] = gam * eo.ptr<float>()[e];
    return finish({mo.reshaped({g, nout}), dd.reshaped({g, nout})}, radius, 0, box);
  }

  // MaxPool over 2 spatial axes (no indices output): DeepPoly's max rule.
  std::optional<Entry> max_pool(const Node& n, const PlannedStep& step,
                                const std::vector<Bounds>& bounds) const {
    if (step.outputs.size() > 1 && step.outputs[1] != kNoId) return std::nullopt;
    const ValueId xv = step.inputs[0];
    const Shape& s = bounds[xv].lo.shape();
    const Shape& so = bounds[step.outputs[0]].lo.shape();
    if (s.size() != 4 || so.size() != 4 || so[0] != s[0] || so[1] != s[1]) return std::nullopt;
    const WindowGeom w = resolve_window(n, {s[2], s[3]}, {}, true);
    if (w.out[0] != so[2] || w.out[1] != so[3]) return std::nullopt;
    std::vector<int64_t> offsets{0}, windows;
    for (int64_t nc = 0; nc < s[0] * s[1]; ++nc)
      for (int64_t oh = 0; oh < so[2]; ++oh)
        for (int64_t ow = 0; ow < so[3]; ++ow) {
          for (int64_t kh = 0; kh < w.kernel[0]; ++kh)
            for (int64_t kw = 0; kw < w.kernel[1]; ++kw) {
              const int64_t h = oh * w.stride[0] - w.pad_begin[0] + kh * w.dilation[0];
              const int64_t x = ow * w.stride[1] - w.pad_begin[1] + kw * w.dilation[1];
              if (h >= 0 && h < s[2] && x >= 0 && x < s[3])
                windows.push_back((nc * s[2] + h) * s[3] + x);
            }
          if (static_cast<int64_t>(windows.size()) == offsets.back()) return std::nullopt;
          offsets.push_back(static_cast<int64_t>(windows.size()));
        }
    const std::vector<double> lo = bounds[xv].lo.to_double(), hi = bounds[xv].hi.to_double();
    return finish(max_over(forms[xv]->form, lo, hi, offsets, windows), {}, 0, box);
  }

  std::optional<Entry> rule(const PlannedStep& step, const std::vector<Bounds>& bounds) const {
    const Node& n = plan.graph().nodes[step.node];
    const Shape& out_shape = bounds[step.outputs[0]].lo.shape();
    const int64_t nout = shape_numel(out_shape);
    auto has_form = [&](size_t i) {
      return i < step.inputs.size() && step.inputs[i] != kNoId && forms[step.inputs[i]] != nullptr;
    };
    if (n.domain == kSaveDomain) {
      const std::string base = base_op_type(n.op);
      if (base != "Conv" && base != "Gemm" && base != "MatMul") return std::nullopt;
      std::optional<Entry> e = dot(base, n, step, bounds);
      if (!e || e->form.numel() != nout) return std::nullopt;
      return post_ops(std::move(*e), n, base, step, out_shape, bounds);
    }
    if (!n.domain.empty() && n.domain != "ai.onnx") return std::nullopt;
    const std::string& op = n.op;
    if (op == "Conv" || op == "Gemm" || op == "MatMul") return dot(op, n, step, bounds);
    if (op == "Relu" && has_form(0)) {
      const Entry& x = *forms[step.inputs[0]];
      const std::vector<double> lo = bounds[step.inputs[0]].lo.to_double(),
                                hi = bounds[step.inputs[0]].hi.to_double();
      return finish(relu(x.form, lo, hi), {}, 0, box);
    }
    if ((op == "GlobalAveragePool" || op == "AveragePool") && has_form(0))
      return pool(n, step, bounds);
    if (op == "MaxPool" && has_form(0)) return max_pool(n, step, bounds);
    if ((op == "Add" || op == "Sub") && step.inputs.size() == 2) {
      const EntryPtr a = operand(step.inputs[0], out_shape, bounds);
      const EntryPtr b = operand(step.inputs[1], out_shape, bounds);
      if (!a || !b) return std::nullopt;
      return finish(add(a->form, b->form, op == "Add" ? 1 : -1), {}, 2 * kUnitRoundoff, box);
    }
    if ((op == "Mul" || op == "Div") && step.inputs.size() == 2) {
      const size_t fi = has_form(0) ? 0 : 1;
      if (op == "Div" && fi != 0) return std::nullopt;
      const ValueId cv = step.inputs[1 - fi];
      if (!bounds[cv].known || !bounds[cv].exact() || forms[step.inputs[fi]]->form.numel() != nout)
        return std::nullopt;
      std::vector<double> a = broadcast(bounds[cv].lo, out_shape);
      if (a.empty()) return std::nullopt;
      if (op == "Div")
        for (double& v : a) {
          if (v == 0) return std::nullopt;
          v = 1 / v;
        }
      return finish(affine(forms[step.inputs[fi]]->form, a, {}), {}, 2 * kUnitRoundoff, box);
    }
    return std::nullopt;
  }
};

SymbolicBounds::SymbolicBounds(const Plan& plan, const std::vector<Bounds>& bounds,
                               const SymbolicOptions& opts, const IntervalOptions& interval)
    : st_(std::make_unique<State>(plan, opts, interval)) {
  if (!opts.enabled) {
    stats_.off_reason = "not asked for: save analyze --symbolic";
    return;
  }
  const auto& values = plan.values();
  std::vector<ValueId> inputs;
  for (ValueId id : plan.graph().inputs) {
    if (values[id].storage == Storage::kConstant || !finite_f32(bounds[id])) continue;
    inputs.push_back(id);
    stats_.generators += bounds[id].lo.numel();
  }
  if (inputs.empty()) {
    stats_.off_reason = "no float32 input with finite bounds";
    return;
  }
  if (stats_.generators > opts.max_generators) {
    stats_.off_reason = fmt::format("the inputs have {} elements (more than {})", stats_.generators,
                                    opts.max_generators);
    stats_.generators = 0;
    return;
  }
  State& s = *st_;
  s.forms.assign(values.size(), nullptr);
  s.last_use.assign(values.size(), -1);
  for (size_t i = 0; i < plan.steps().size(); ++i)
    for (ValueId v : plan.steps()[i].inputs)
      if (v != kNoId) s.last_use[v] = static_cast<int64_t>(i);
  for (ValueId id : inputs) {
    const std::vector<double> lo = bounds[id].lo.to_double(), hi = bounds[id].hi.to_double();
    s.box.lo.insert(s.box.lo.end(), lo.begin(), lo.end());
    s.box.hi.insert(s.box.hi.end(), hi.begin(), hi.end());
  }
  int64_t first = 1;
  for (ValueId id : inputs) {
    auto e = std::make_shared<Entry>();
    e->form = input_form(s.rows(), bounds[id].lo.numel(), first);
    first += bounds[id].lo.numel();
    e->conc = concretize(e->form, s.box);
    s.live_bytes += static_cast<double>(e->form.bytes());
    s.forms[id] = std::move(e);
  }
  stats_.on = true;
  stats_.peak_bytes = s.live_bytes;
}

SymbolicBounds::~SymbolicBounds() = default;

void SymbolicBounds::after_step(size_t si, std::vector<Bounds>& bounds) {
  if (!stats_.on) return;
  const auto t0 = std::chrono::steady_clock::now();
  State& s = *st_;
  const PlannedStep& step = s.plan.steps()[si];
  bool any = false;
  for (ValueId v : step.inputs) any = any || (v != kNoId && s.forms[v]);
  const ValueId out = step.outputs.empty() ? kNoId : step.outputs[0];
  const Node& n = s.plan.graph().nodes[step.node];
  static const char* const kReshapes[] = {"Flatten",   "Reshape",  "Squeeze",
                                          "Unsqueeze", "Identity", "Dropout"};
  const bool read_later = out != kNoId && s.last_use[out] > static_cast<int64_t>(si);
  if (any && out != kNoId && bounds[out].known && bounds[out].lo.dtype() == DType::kF32) {
    const bool reshape = n.domain.empty() && std::find(std::begin(kReshapes), std::end(kReshapes),
                                                       n.op) != std::end(kReshapes);
    if (reshape && read_later && s.forms[step.inputs[0]] &&
        s.forms[step.inputs[0]]->form.numel() == bounds[out].lo.numel()) {
      s.forms[out] = s.forms[step.inputs[0]];  // same elements in the same order
    } else if (std::optional<Entry> e = s.rule(step, bounds)) {
      // The same allowance the interval rules get (finish_float in
      // ops/interval.cpp), on the form as well.
      Concrete& c = e->conc;
      double max_abs = 0;
      for (size_t i = 0; i < c.lo.size(); ++i)
        max_abs = std::max({max_abs, std::fabs(c.lo[i]), std::fabs(c.hi[i])});
      std::vector<double> r(c.lo.size());
      for (size_t i = 0; i < r.size(); ++i) {
        r[i] = s.iopts.rel_margin * (std::fabs(c.lo[i]) + std::fabs(c.hi[i])) +
               s.iopts.abs_margin * max_abs;
        c.lo[i] -= r[i];
        c.hi[i] += r[i];
        c.mag[i] += r[i];
      }
      widen(e->form, r);
      // Intersect with the interval rule's bounds.
      float* l = bounds[out].lo.ptr<float>();
      float* h = bounds[out].hi.ptr<float>();
      bool tighter = false;
      for (size_t i = 0; i < r.size(); ++i) {
        const float sl = float_down(c.lo[i]), sh = float_up(c.hi[i]);
        if (sl > h[i] || sh < l[i]) {  // cannot happen when both are sound
          ++stats_.disjoint_elements;
          continue;
        }
        if (sl > l[i]) l[i] = sl, tighter = true;
        if (sh < h[i]) h[i] = sh, tighter = true;
      }
      clamp_to(e->form, c, {l, r.size()}, {h, r.size()});
      ++stats_.values_with_form;
      stats_.values_tightened += tighter;
      const double bytes = static_cast<double>(e->form.bytes());
      if (read_later && s.live_bytes + bytes <= s.opts.max_bytes) {
        s.forms[out] = std::make_shared<Entry>(std::move(*e));
        s.live_bytes += bytes;
        stats_.peak_bytes = std::max(stats_.peak_bytes, s.live_bytes);
      }
    }
  }
  for (ValueId v : step.inputs)
    if (v != kNoId && s.last_use[v] == static_cast<int64_t>(si) && s.forms[v]) {
      if (s.forms[v].use_count() == 1)
        s.live_bytes -= static_cast<double>(s.forms[v]->form.bytes());
      s.forms[v].reset();
    }
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace save
