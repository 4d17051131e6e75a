// Recurrent ops: RNN, GRU, LSTM (ONNX semantics: gate orders, directions,
// layout 0/1, sequence_lens, initial states, LSTM peepholes and
// input_forget, GRU linear_before_reset, clip, the activation list).
// float32; reference kernels only (one time step after another: the state
// dependency leaves little to a fast kernel for the small recurrent heads
// these models have).
//
// Interval rule, for the default activations (sigmoid gates, tanh
// candidates): every hidden state of RNN and LSTM lies in [-1, 1] (tanh, and
// o * tanh(C) with o in [0, 1]); a GRU state is a convex combination of the
// tanh candidate and the previous state, so it stays in the hull of [-1, 1]
// and the initial state's bounds; an LSTM cell state moves by at most 1 per
// step (C = f C' + i g, f and i in [0, 1], |g| <= 1), so it stays in
// [min(C0, 0) - T, max(C0, 0) + T] over T steps. Outputs of padded steps
// (sequence_lens) are 0, inside every one of these. Other activations: the
// outputs are unbounded (declined).
#include <algorithm>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

enum class Kind { kRnn, kGru, kLstm };

int gates_of(Kind k) {
  return k == Kind::kRnn ? 1 : k == Kind::kGru ? 3 : 4;
}
size_t activations_per_direction(Kind k) {
  return k == Kind::kRnn ? 1 : k == Kind::kGru ? 2 : 3;
}
const char* op_name(Kind k) {
  return k == Kind::kRnn ? "RNN" : k == Kind::kGru ? "GRU" : "LSTM";
}

struct Activation {
  std::string name;
  float alpha = 0, beta = 0;
  float operator()(float x) const {
    if (name == "Sigmoid") return 1.0f / (1.0f + std::exp(-x));
    if (name == "Tanh") return std::tanh(x);
    if (name == "Relu") return std::max(x, 0.0f);
    if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
    if (name == "ThresholdedRelu") return x > alpha ? x : 0.0f;
    if (name == "HardSigmoid") return std::clamp(alpha * x + beta, 0.0f, 1.0f);
    if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
    if (name == "Softsign") return x / (1.0f + std::fabs(x));
    if (name == "Softplus") return std::log1p(std::exp(x));
    if (name == "Affine") return alpha * x + beta;
    return alpha * std::tanh(beta * x);  // ScaledTanh
  }
};

// Default alpha/beta per activation (ONNX operator docs).
Activation make_activation(const std::string& name, const float* alpha, const float* beta,
                           const Node& node) {
  static const char* known[] = {"Sigmoid",         "Tanh",        "Relu",      "LeakyRelu",
                                "ThresholdedRelu", "HardSigmoid", "Elu",       "Softsign",
                                "Softplus",        "Affine",      "ScaledTanh"};
  SAVE_CHECK(std::find_if(std::begin(known), std::end(known),
                          [&](const char* k) { return name == k; }) != std::end(known),
             "node '{}' ({}): activation '{}' is not supported", node.name, node.op, name);
  Activation a{name};
  float da = 0, db = 0;
  if (name == "LeakyRelu") da = 0.01f;
  if (name == "ThresholdedRelu") da = 1.0f;
  if (name == "HardSigmoid") da = 0.2f, db = 0.5f;
  if (name == "Elu") da = 1.0f;
  if (name == "Affine" || name == "ScaledTanh") da = 1.0f, db = 0.0f;
  a.alpha = alpha ? *alpha : da;
  a.beta = beta ? *beta : db;
  return a;
}

struct Config {
  Kind kind = Kind::kRnn;
  int64_t hidden = 0, dirs = 1, layout = 0;
  std::string direction = "forward";
  float clip = 0;  // 0: none
  bool input_forget = false, linear_before_reset = false;
  std::vector<Activation> act;  // activations_per_direction * dirs
  bool default_activations = true;
};

Config config_of(Kind kind, const Node& node) {
  Config c;
  c.kind = kind;
  const Attributes& a = node.attrs;
  c.hidden = a.get_int("hidden_size", 0);
  c.layout = a.get_int("layout", 0);
  c.direction = a.get_string("direction", "forward");
  SAVE_CHECK(c.direction == "forward" || c.direction == "reverse" || c.direction == "bidirectional",
             "node '{}' ({}): direction '{}' is not forward, reverse or bidirectional", node.name,
             node.op, c.direction);
  SAVE_CHECK(c.layout == 0 || c.layout == 1, "node '{}' ({}): layout must be 0 or 1", node.name,
             node.op);
  c.dirs = c.direction == "bidirectional" ? 2 : 1;
  c.clip = a.has("clip") ? a.get_float("clip", 0) : 0;
  SAVE_CHECK(c.clip >= 0, "node '{}' ({}): clip must be >= 0", node.name, node.op);
  c.input_forget = a.get_int("input_forget", 0) != 0;
  c.linear_before_reset = a.get_int("linear_before_reset", 0) != 0;
  const size_t per = activations_per_direction(kind);
  std::vector<std::string> names;
  if (auto it = a.all().find("activations"); it != a.all().end()) {
    const auto* list = std::get_if<std::vector<std::string>>(&it->second);
    SAVE_CHECK(list != nullptr, "node '{}' ({}): activations must be a list of strings", node.name,
               node.op);
    names = *list;
    SAVE_CHECK(names.size() == per * static_cast<size_t>(c.dirs),
               "node '{}' ({}): {} activations given, {} expected ({} per direction)", node.name,
               node.op, names.size(), per * static_cast<size_t>(c.dirs), per);
  } else {
    const std::vector<std::string> def = kind == Kind::kRnn ? std::vector<std::string>{"Tanh"}
                                         : kind == Kind::kGru
                                             ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                             : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    for (int64_t d = 0; d < c.dirs; ++d) names.insert(names.end(), def.begin(), def.end());
  }
  const std::vector<float> alphas = a.get_floats("activation_alpha");
  const std::vector<float> betas = a.get_floats("activation_beta");
  for (size_t i = 0; i < names.size(); ++i) {
    // Sigmoid for gates, Tanh for candidates/outputs: what the interval
    // rule knows.
    const bool gate = kind != Kind::kRnn && i % per == 0;
    c.default_activations &= names[i] == (gate ? "Sigmoid" : "Tanh");
    c.act.push_back(make_activation(names[i], i < alphas.size() ? &alphas[i] : nullptr,
                                    i < betas.size() ? &betas[i] : nullptr, node));
  }
  c.default_activations &= alphas.empty() && betas.empty();
  return c;
}

void rnn_infer_kind(InferContext& ctx, Kind kind) {
  const Config c = config_of(kind, ctx.node);
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& w = ctx.input(1);
  const TensorInfo& r = ctx.input(2);
  const std::string& n = ctx.node.name;
  SAVE_CHECK(x.dtype == DType::kF32 && w.dtype == DType::kF32 && r.dtype == DType::kF32,
             "node '{}' ({}): float32 inputs only", n, op_name(kind));
  SAVE_CHECK(x.shape.size() == 3 && w.shape.size() == 3 && r.shape.size() == 3,
             "node '{}' ({}): X, W and R must be 3-D", n, op_name(kind));
  const int64_t g = gates_of(kind);
  int64_t hidden = c.hidden > 0 ? c.hidden : w.shape[1] / g;
  SAVE_CHECK(w.shape[0] == c.dirs && w.shape[1] == g * hidden && r.shape[0] == c.dirs &&
                 r.shape[1] == g * hidden && r.shape[2] == hidden && w.shape[2] == x.shape[2],
             "node '{}' ({}): W {} / R {} do not fit X {} with {} direction(s) and hidden size {}",
             n, op_name(kind), shape_str(w.shape), shape_str(r.shape), shape_str(x.shape), c.dirs,
             hidden);
  const int64_t seq = c.layout == 0 ? x.shape[0] : x.shape[1];
  const int64_t batch = c.layout == 0 ? x.shape[1] : x.shape[0];
  if (ctx.has_input(3))
    SAVE_CHECK(ctx.input(3).shape == (Shape{c.dirs, 2 * g * hidden}),
               "node '{}' ({}): B must be [{}, {}]", n, op_name(kind), c.dirs, 2 * g * hidden);
  const Shape state = c.layout == 0 ? Shape{c.dirs, batch, hidden} : Shape{batch, c.dirs, hidden};
  if (ctx.has_input(4))
    SAVE_CHECK(ctx.input(4).shape == (Shape{batch}) &&
                   (ctx.input(4).dtype == DType::kI32 || ctx.input(4).dtype == DType::kI64),
               "node '{}' ({}): sequence_lens must be an int32 vector of the batch ({})", n,
               op_name(kind), batch);
  for (size_t i : {size_t{5}, size_t{6}})
    if (ctx.has_input(i) && (i == 5 || kind == Kind::kLstm))
      SAVE_CHECK(ctx.input(i).shape == state, "node '{}' ({}): initial state must be {}", n,
                 op_name(kind), shape_str(state));
  if (kind == Kind::kLstm && ctx.has_input(7))
    SAVE_CHECK(ctx.input(7).shape == (Shape{c.dirs, 3 * hidden}),
               "node '{}' (LSTM): P must be "
               "[{}, {}]",
               n, c.dirs, 3 * hidden);
  ctx.set_output(
      0, DType::kF32,
      c.layout == 0 ? Shape{seq, c.dirs, batch, hidden} : Shape{batch, seq, c.dirs, hidden});
  ctx.set_output(1, DType::kF32, state);
  if (kind == Kind::kLstm) ctx.set_output(2, DType::kF32, state);
}

template <Kind K>
void rnn_infer(InferContext& ctx) {
  rnn_infer_kind(ctx, K);
}

// y[0..rows) = M[rows x cols] * v[0..cols) (+= into y).
void matvec_add(const float* m, const float* v, int64_t rows, int64_t cols, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    float s = 0;
    for (int64_t k = 0; k < cols; ++k) s += m[r * cols + k] * v[k];
    y[r] += s;
  }
}

void rnn_reference_kind(const KernelContext& ctx, Kind kind) {
  const Config c = config_of(kind, ctx.node);
  const TensorView& xv = ctx.inputs[0];
  const int64_t g = gates_of(kind);
  const int64_t hidden = ctx.inputs[2].dim(2);
  const int64_t seq = c.layout == 0 ? xv.dim(0) : xv.dim(1);
  const int64_t batch = c.layout == 0 ? xv.dim(1) : xv.dim(0);
  const int64_t in = xv.dim(2);
  const float* x = xv.ptr<const float>();
  const float* w = ctx.inputs[1].ptr<const float>();
  const float* r = ctx.inputs[2].ptr<const float>();
  const float* b = ctx.has_input(3) ? ctx.inputs[3].ptr<const float>() : nullptr;
  const float* h0 = ctx.has_input(5) ? ctx.inputs[5].ptr<const float>() : nullptr;
  const float* c0 =
      kind == Kind::kLstm && ctx.has_input(6) ? ctx.inputs[6].ptr<const float>() : nullptr;
  const float* p =
      kind == Kind::kLstm && ctx.has_input(7) ? ctx.inputs[7].ptr<const float>() : nullptr;
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (ctx.has_input(4)) {
    const TensorView& l = ctx.inputs[4];
    for (int64_t i = 0; i < batch; ++i)
      lens[static_cast<size_t>(i)] = std::clamp<int64_t>(
          l.dtype == DType::kI32 ? l.ptr<const int32_t>()[i] : l.ptr<const int64_t>()[i], 0, seq);
  }
  float* y = ctx.outputs.size() > 0 ? ctx.outputs[0].ptr<float>() : nullptr;
  float* yh = ctx.outputs.size() > 1 ? ctx.outputs[1].ptr<float>() : nullptr;
  float* yc = ctx.outputs.size() > 2 ? ctx.outputs[2].ptr<float>() : nullptr;
  if (y) std::fill(y, y + ctx.outputs[0].numel(), 0.0f);
  // Index helpers for both layouts.
  auto x_at = [&](int64_t t, int64_t n) {
    return x + (c.layout == 0 ? (t * batch + n) : (n * seq + t)) * in;
  };
  auto y_at = [&](int64_t t, int64_t d, int64_t n) {
    return y +
           (c.layout == 0 ? ((t * c.dirs + d) * batch + n) : ((n * seq + t) * c.dirs + d)) * hidden;
  };
  auto state_at = [&](int64_t d, int64_t n) {
    return (c.layout == 0 ? (d * batch + n) : (n * c.dirs + d)) * hidden;
  };
  const size_t per = activations_per_direction(kind);
  std::vector<float> gx(static_cast<size_t>(g * hidden)), gh(static_cast<size_t>(g * hidden));
  const auto hs = static_cast<size_t>(hidden);
  std::vector<float> h(hs), cell(hs), next(hs);
  std::vector<float> z(hs), rr(hs), rh(hs), reset_part(hs), gru_state(hs);  // GRU
  auto clip = [&](float v) { return c.clip > 0 ? std::clamp(v, -c.clip, c.clip) : v; };
  for (int64_t d = 0; d < c.dirs; ++d) {
    const bool reverse = c.direction == "reverse" || d == 1;
    const float* wd = w + d * g * hidden * in;
    const float* rd = r + d * g * hidden * hidden;
    const float* wb = b ? b + d * 2 * g * hidden : nullptr;
    const float* rb = b ? wb + g * hidden : nullptr;
    const float* pd = p ? p + d * 3 * hidden : nullptr;
    const Activation& f = c.act[static_cast<size_t>(d) * per];
    const Activation& g1 = c.act[static_cast<size_t>(d) * per + (per > 1 ? 1 : 0)];
    const Activation& h1 = c.act[static_cast<size_t>(d) * per + (per > 2 ? 2 : 0)];
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t len = lens[static_cast<size_t>(n)];
      const int64_t s0 = state_at(d, n);
      for (int64_t j = 0; j < hidden; ++j) {
        h[static_cast<size_t>(j)] = h0 ? h0[s0 + j] : 0.0f;
        cell[static_cast<size_t>(j)] = c0 ? c0[s0 + j] : 0.0f;
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = reverse ? len - 1 - step : step;
        std::fill(gx.begin(), gx.end(), 0.0f);
        std::fill(gh.begin(), gh.end(), 0.0f);
        matvec_add(wd, x_at(t, n), g * hidden, in, gx.data());
        matvec_add(rd, h.data(), g * hidden, hidden, gh.data());
        for (int64_t k = 0; k < g * hidden; ++k) {
          if (wb) gx[static_cast<size_t>(k)] += wb[k];
          if (rb) gh[static_cast<size_t>(k)] += rb[k];
        }
        if (kind == Kind::kGru) {
          // Gate order z, r, h: the reset gate first, for the candidate.
          for (int64_t j = 0; j < hidden; ++j) {
            const auto J = static_cast<size_t>(j);
            z[J] = f(clip(gx[J] + gh[J]));
            rr[J] = f(clip(gx[J + hidden] + gh[J + hidden]));
            rh[J] = rr[J] * h[J];
          }
          if (!c.linear_before_reset) {
            // (r . H) R_h^T + Rb_h replaces H R_h^T + Rb_h.
            for (int64_t j = 0; j < hidden; ++j)
              reset_part[static_cast<size_t>(j)] = rb ? rb[2 * hidden + j] : 0.0f;
            matvec_add(rd + 2 * hidden * hidden, rh.data(), hidden, hidden, reset_part.data());
          }
          for (int64_t j = 0; j < hidden; ++j) {
            const auto J = static_cast<size_t>(j);
            const float part = c.linear_before_reset ? rr[J] * gh[J + 2 * hidden] : reset_part[J];
            const float cand = g1(clip(gx[J + 2 * hidden] + part));
            gru_state[J] = (1.0f - z[J]) * cand + z[J] * h[J];
          }
        }
        for (int64_t j = 0; j < hidden; ++j) {
          const auto J = static_cast<size_t>(j);
          if (kind == Kind::kRnn) {
            next[J] = f(clip(gx[J] + gh[J]));
          } else if (kind == Kind::kGru) {
            next[J] = gru_state[J];
          } else {
            // Gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
            const float ci = cell[J];
            float ig = f(clip(gx[J] + gh[J] + (pd ? pd[j] * ci : 0.0f)));
            float fg = c.input_forget ? 1.0f - ig
                                      : f(clip(gx[J + 2 * hidden] + gh[J + 2 * hidden] +
                                               (pd ? pd[2 * hidden + j] * ci : 0.0f)));
            const float cc = g1(clip(gx[J + 3 * hidden] + gh[J + 3 * hidden]));
            const float cn = fg * ci + ig * cc;
            const float og =
                f(clip(gx[J + hidden] + gh[J + hidden] + (pd ? pd[hidden + j] * cn : 0.0f)));
            cell[J] = cn;
            next[J] = og * h1(cn);
          }
        }
        h = next;
        if (y) std::copy(h.begin(), h.end(), y_at(t, d, n));
      }
      if (yh) std::copy(h.begin(), h.end(), yh + s0);
      if (yc) std::copy(cell.begin(), cell.end(), yc + s0);
    }
  }
}

template <Kind K>
void rnn_reference(const KernelContext& ctx) {
  rnn_reference_kind(ctx, K);
}

// See the header comment.
template <Kind K>
void rnn_interval(const IntervalContext& ctx) {
  const Config c = config_of(K, ctx.node);
  if (!c.default_activations) return ctx.decline();
  float lo = -1, hi = 1;
  if (K == Kind::kGru && ctx.has_input(5)) {
    if (!ctx.known(5)) return ctx.decline();
    const TensorView& l = ctx.lo[5];
    const TensorView& h = ctx.hi[5];
    for (int64_t i = 0; i < l.numel(); ++i) {
      lo = std::min(lo, l.ptr<const float>()[i]);
      hi = std::max(hi, h.ptr<const float>()[i]);
    }
  }
  // Y_h of a sample with sequence length 0 is its initial state.
  if (K != Kind::kGru && ctx.has_input(5)) {
    if (!ctx.known(5)) return ctx.decline();
    for (int64_t i = 0; i < ctx.lo[5].numel(); ++i) {
      lo = std::min(lo, ctx.lo[5].ptr<const float>()[i]);
      hi = std::max(hi, ctx.hi[5].ptr<const float>()[i]);
    }
  }
  for (size_t o = 0; o < 2 && o < ctx.out_lo.size(); ++o) {
    if (ctx.out_lo[o].data == nullptr) continue;
    std::fill_n(ctx.out_lo[o].ptr<float>(), ctx.out_lo[o].numel(), lo);
    std::fill_n(ctx.out_hi[o].ptr<float>(), ctx.out_hi[o].numel(), hi);
  }
  if (K == Kind::kLstm && ctx.out_lo.size() > 2 && ctx.out_lo[2].data != nullptr) {
    const int64_t seq = c.layout == 0 ? ctx.lo[0].dim(0) : ctx.lo[0].dim(1);
    float clo = 0, chi = 0;
    if (ctx.has_input(6)) {
      if (!ctx.known(6)) {
        ctx.out_known[2] = 0;
        return;
      }
      for (int64_t i = 0; i < ctx.lo[6].numel(); ++i) {
        clo = std::min(clo, ctx.lo[6].ptr<const float>()[i]);
        chi = std::max(chi, ctx.hi[6].ptr<const float>()[i]);
      }
    }
    std::fill_n(ctx.out_lo[2].ptr<float>(), ctx.out_lo[2].numel(), clo - static_cast<float>(seq));
    std::fill_n(ctx.out_hi[2].ptr<float>(), ctx.out_hi[2].numel(), chi + static_cast<float>(seq));
  }
}

const OpDef kRnn{"RNN", rnn_infer<Kind::kRnn>,   rnn_reference<Kind::kRnn>, nullptr,
                 false, rnn_interval<Kind::kRnn>};
const OpDef kGru{"GRU", rnn_infer<Kind::kGru>,   rnn_reference<Kind::kGru>, nullptr,
                 false, rnn_interval<Kind::kGru>};
const OpDef kLstm{"LSTM", rnn_infer<Kind::kLstm>,   rnn_reference<Kind::kLstm>, nullptr,
                  false,  rnn_interval<Kind::kLstm>};

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add(kRnn);
  r.add(kGru);
  r.add(kLstm);
}

}  // namespace save
