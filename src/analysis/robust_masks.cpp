#include "analysis/robust_masks.hpp"

#include <bit>
#include <cmath>

#include "analysis/bit_classes.hpp"
#include "ops/fused.hpp"
#include "ops/interval.hpp"

namespace save {

namespace {

// Largest |x| over the bounds of value v, or +inf.
double max_abs(const RangeAnalysis& ra, ValueId v) {
  const ValueSummary& s = ra.summary[v];
  if (!s.bounded) return INFINITY;
  return std::max(std::abs(s.min_lo), std::abs(s.max_hi));
}

uint32_t exponent_field(float x) {
  return (std::bit_cast<uint32_t>(x) >> 23) & 0xff;
}

// The exact scalar value of input i of a step, if it has one.
bool exact_scalar(const RangeAnalysis& ra, ValueId v, double* out) {
  if (v == kNoId || !ra.bounds[v].known || !ra.bounds[v].exact()) return false;
  const Tensor& t = ra.bounds[v].lo;
  if (t.numel() != 1 || !is_float(t.dtype())) return false;
  *out = t.to_double()[0];
  return true;
}

bool linear_op(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

// gamma_n of a step's dot products (n = terms per output, ops/interval.hpp).
double step_gamma(const RangeAnalysis& ra, const PlannedStep& st) {
  const Plan& plan = *ra.plan;
  std::vector<Shape> shapes;
  std::vector<uint8_t> has;
  for (ValueId v : st.inputs) {
    has.push_back(v != kNoId ? 1 : 0);
    shapes.push_back(v != kNoId ? plan.values()[v].info.shape : Shape{});
  }
  const Shape out = st.outputs.empty() || st.outputs[0] == kNoId
                        ? Shape{}
                        : plan.values()[st.outputs[0]].info.shape;
  return gamma_n(dot_terms(plan.graph().nodes[st.node], shapes, has, out));
}

}  // namespace

PointMasker::PointMasker(double tol) : tol_(tol) {
  // classify_bits on [w, w], without its piece list: one piece, so a bit is
  // robust iff its flip moves w by less than tol (tests compare the two).
  // Everything but |w| depends on the exponent field alone: tabulated.
  for (uint32_t field = 0; field < 256; ++field) {
    const int e = field == 0 ? 1 : static_cast<int>(field);
    uint32_t m = 0;
    for (int b = 0; b < 23; ++b)
      if (std::ldexp(1.0, e - 127 - 23 + b) < tol) m |= 1u << b;
    mantissa_[field] = m;
    for (int k = 0; k < 8; ++k) {
      const uint32_t e2 = field ^ (1u << k);
      auto& f = factor_[field][static_cast<size_t>(k)];
      f = {INFINITY, 0, 0};  // e2 == 255: Inf / NaN, never robust
      if (e2 == 255) continue;
      if (field == 0) {  // zero or subnormal: the new value is normal
        f = {0, std::ldexp(1.0, static_cast<int>(e2) - 127),
             std::ldexp(1.0, static_cast<int>(e2) - 126)};
      } else {
        f = {std::abs(std::ldexp(1.0, static_cast<int>(e2) - static_cast<int>(field)) - 1), 0, 0};
      }
    }
  }
}

uint32_t PointMasker::operator()(float w) const {
  if (!std::isfinite(w) || !(tol_ > 0)) return 0;
  const uint32_t field = exponent_field(w);
  const double a = std::abs(static_cast<double>(w));
  uint32_t m = mantissa_[field];
  for (size_t k = 0; k < 8; ++k) {
    const auto& [scale, na, nb] = factor_[field][k];
    const double change = field == 0 ? std::max(std::abs(nb - a), std::abs(na - a)) : a * scale;
    if (change < tol_) m |= 1u << (23 + k);
  }
  if (2 * a < tol_) m |= 1u << 31;
  return m;
}

uint32_t point_robust_mask(float w, double tol) {
  return PointMasker(tol)(w);
}

std::vector<uint32_t> RobustMasks::all() const {
  std::vector<uint32_t> out(numeric.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = numeric[i] | by_operator[i];
  return out;
}

// A fused step's post-op chain (ops/fused.hpp): the largest factor by which
// it stretches a change of the base op's output.
double fused_gain(const RangeAnalysis& ra, const PlannedStep& st, const Node& node,
                  const std::string& base) {
  std::vector<double> mul_max;
  std::vector<PostOp> ops = get_post_ops(node);
  size_t operand = base_input_count(base);
  for (const PostOp& p : ops) {
    if (!p.binary()) continue;
    if (p.op == "Mul")
      mul_max.push_back(operand < st.inputs.size() ? max_abs(ra, st.inputs[operand]) : INFINITY);
    ++operand;
  }
  return post_op_gain(ops, mul_max);
}

double weight_tolerance(const RangeAnalysis& ra, ValueId w, double tol) {
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  double t = INFINITY;
  bool any = false;
  for (const PlannedStep& st : plan.steps()) {
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      if (st.inputs[i] != w) continue;
      any = true;
      const Node& node = g.nodes[st.node];
      std::string op = node.op;
      // A fused op (ops/fused.hpp) is its linear base op followed by
      // post-ops that stretch a change of the linear output by at most
      // `gain`; its post-op operands (inputs past the base's) get no claim.
      double gain = 1;
      if (node.domain == kSaveDomain && !base_op_type(op).empty()) {
        op = base_op_type(op);
        if (i >= base_input_count(op)) {
          t = 0;
          continue;
        }
        gain = fused_gain(ra, st, node, op);
      }
      const bool linear = linear_op(op);
      // Rounding: the claim is that the reader's computed output stays
      // within tol of the envelope [y* - E, y* + E] of outputs a correct
      // float32 kernel (any order) computes for the fault-free weights, y*
      // exact, E = gamma_n S, S = sum |w x| + |b|. The faulty kernel is off
      // its exact result by gamma_n (S + |dw| max|x|), so it stays within
      // (1 + gamma_n) |dw| max|x| of the envelope: that must be < tol (times
      // the post-ops' gain for a fused op).
      const double grow = linear ? gain * (1 + step_gamma(ra, st)) : INFINITY;
      if (linear && i == 2) {
        // Gemm scales C by beta: only beta == 1 moves the output by |db|.
        bool scaled = op == "Gemm" && node.attrs.get_float("beta", 1.0f) != 1.0f;
        t = std::min(t, scaled || !std::isfinite(grow) ? 0.0 : tol / grow);
      } else if (linear && i < 2) {
        ValueId x = st.inputs[1 - i];
        double mx = max_abs(ra, x) * grow;
        bool scaled = op == "Gemm" && node.attrs.get_float("alpha", 1.0f) != 1.0f;
        t = std::min(t, (mx > 0 && std::isfinite(mx) && !scaled) ? tol / mx : 0.0);
      } else {
        t = 0;
      }
    }
  }
  return any ? t : 0;
}

ReaderChange reader_change(const RangeAnalysis& ra, ValueId w) {
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  ReaderChange rc;
  const PlannedStep* st = nullptr;
  size_t slot = 0;
  for (const PlannedStep& s : plan.steps()) {
    for (size_t i = 0; i < s.inputs.size() && st == nullptr; ++i)
      if (s.inputs[i] == w) {
        st = &s;
        slot = i;
      }
    if (st != nullptr) break;
  }
  if (st == nullptr) return rc;
  // A fused reader (ops/fused.hpp): its base op's change, stretched by the
  // post-ops' gain, plus the post-ops' own rounding (a few units of the
  // output's last place, at both the faulty and the fault-free run).
  const Node& node = g.nodes[st->node];
  const bool fused = node.domain == kSaveDomain && !base_op_type(node.op).empty();
  const std::string op = fused ? base_op_type(node.op) : node.op;
  if (!linear_op(op) || slot > 2 || (fused && slot >= base_input_count(op))) return rc;
  const double gam = step_gamma(ra, *st);
  const double gain = fused ? fused_gain(ra, *st, node, op) : 1.0;
  if (!std::isfinite(gam) || !std::isfinite(gain)) return rc;
  rc.per_unit = gain * (1 + gam) * (slot == 2 ? 1.0 : max_abs(ra, st->inputs[1 - slot]));
  // S = max over the reader's outputs of sum |w x| + |b| over the input
  // box: the reader's reference kernel on |W|, max(|lo|, |hi|) of its
  // activation input and |b|.
  const size_t nin = fused ? std::min(base_input_count(op), st->inputs.size()) : st->inputs.size();
  std::vector<Tensor> abs_in(nin);
  for (size_t i = 0; i < nin; ++i) {
    const ValueId v = st->inputs[i];
    if (v == kNoId) continue;
    const Bounds& b = ra.bounds[v];
    if (!b.known || b.lo.dtype() != DType::kF32) return rc;  // no finite envelope
    Tensor m(DType::kF32, b.lo.shape());
    const float* lo = b.lo.ptr<float>();
    const float* hi = b.hi.ptr<float>();
    for (int64_t e = 0; e < m.numel(); ++e)
      m.ptr<float>()[e] = std::max(std::fabs(lo[e]), std::fabs(hi[e]));
    abs_in[i] = std::move(m);
  }
  std::vector<TensorView> in;
  for (const Tensor& t : abs_in) in.push_back(t.defined() ? t.view() : TensorView{});
  const ValueId o = st->outputs.empty() ? kNoId : st->outputs[0];
  if (o == kNoId) return rc;
  Tensor s_out(DType::kF32, plan.values()[o].info.shape);
  const TensorView outs[] = {s_out.view()};
  Node base_node = node;
  const OpDef* def = st->def;
  if (fused) {
    base_node.op = op;
    base_node.domain.clear();
    def = find_op(op);
    if (def == nullptr) return {};
  }
  KernelContext k{base_node, in, outs, 0, g.opset};
  def->reference(k);
  double s_max = 0;
  for (int64_t e = 0; e < s_out.numel(); ++e)
    s_max = std::max(s_max, std::fabs(static_cast<double>(s_out.ptr<float>()[e])));
  // The reference's own float sum of non-negative terms may be low by
  // gamma_n relative: (1 + 2 gamma) covers it; underflow (also flushed to
  // zero) adds at most 2^-126 per rounding.
  const int64_t n = static_cast<int64_t>(std::ceil(gam / kUnitRoundoff)) + 1;
  rc.slack = gain * (2 * gam * s_max * (1 + 2 * gam) + 2 * static_cast<double>(n) * 0x1p-126);
  if (fused) rc.slack += 4 * kUnitRoundoff * max_abs(ra, o);
  if (!std::isfinite(rc.slack)) rc = {};
  return rc;
}

bool readers_flatten_negatives(const RangeAnalysis& ra, ValueId v) {
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  if (g.values[v].is_graph_output) return false;  // the value itself is a result
  bool any = false;
  for (const PlannedStep& st : plan.steps()) {
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      if (st.inputs[i] != v) continue;
      any = true;
      const Node& n = g.nodes[st.node];
      if (i != 0) return false;
      if (n.op == "Relu") continue;
      if (n.op == "Clip") {
        // min(max(x, lo), hi) is constant for every x < 0 when lo >= 0.
        double lo = 0;
        bool exact = g.opset < 11
                         ? n.attrs.has("min")
                         : exact_scalar(ra, st.inputs.size() > 1 ? st.inputs[1] : kNoId, &lo);
        if (g.opset < 11 && exact) lo = n.attrs.get_float("min", 0.f);
        if (exact && lo >= 0) continue;
      }
      return false;
    }
  }
  return any;
}

uint32_t negative_to_relu_mask(float lo, float hi) {
  if (!(hi < 0) || !std::isfinite(lo)) return 0;
  // Every flip of a non-sign bit keeps the sign: the result is negative,
  // -0, -Inf (all flattened) or NaN. A NaN needs exponent field 255, i.e.
  // exponent bit k flipped in a value whose field is 255 ^ (1 << k); the
  // fields in [lo, hi] run from that of |hi| to that of |lo|.
  const uint32_t e_lo = exponent_field(-hi), e_hi = exponent_field(-lo);
  uint32_t m = (1u << 23) - 1;  // mantissa bits
  for (uint32_t k = 0; k < 8; ++k) {
    const uint32_t nan_field = 255u ^ (1u << k);
    if (nan_field < e_lo || nan_field > e_hi) m |= 1u << (23 + k);
  }
  return m;
}

RobustMasks robust_mask_detail(const RangeAnalysis& ra, ValueId v, double tol) {
  RobustMasks out;
  if (v == kNoId || v >= ra.summary.size() || !ra.summary[v].present) return out;
  const PlannedValue& pv = ra.plan->values()[v];
  if (pv.info.dtype != DType::kF32) return out;
  const int64_t n = shape_numel(pv.info.shape);
  if (pv.storage == Storage::kConstant) {
    const double wt = weight_tolerance(ra, v, local_tolerance(tol));
    const float* w = pv.golden.ptr<float>();
    out.numeric.resize(static_cast<size_t>(n));
    // Per element (tens of millions for large models): the tabulated
    // closed form, in parallel.
    const PointMasker masker(wt);
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < n; ++e) out.numeric[static_cast<size_t>(e)] = masker(w[e]);
    out.by_operator.assign(out.numeric.size(), 0);
    return out;
  }
  const ValueSummary& s = ra.summary[v];
  std::vector<float> lo = s.channel_lo, hi = s.channel_hi;
  if (lo.empty()) {
    lo = {static_cast<float>(s.min_lo)};
    hi = {static_cast<float>(s.max_hi)};
  }
  out.elements_per_mask = n / static_cast<int64_t>(lo.size());
  out.numeric.assign(lo.size(), 0);
  out.by_operator.assign(lo.size(), 0);
  if (!s.bounded) return out;
  const bool flatten = readers_flatten_negatives(ra, v);
  for (size_t c = 0; c < lo.size(); ++c) {
    if (!std::isfinite(lo[c]) || !std::isfinite(hi[c])) continue;
    out.numeric[c] = classify_bits(lo[c], hi[c], local_tolerance(tol)).mask(BitClass::kRobust);
    if (flatten) out.by_operator[c] = negative_to_relu_mask(lo[c], hi[c]) & ~out.numeric[c];
  }
  return out;
}

std::vector<uint32_t> robust_masks(const RangeAnalysis& ra, ValueId v, double tol) {
  return robust_mask_detail(ra, v, tol).all();
}

}  // namespace save
