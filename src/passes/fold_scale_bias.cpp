#include "passes/fold_scale_bias.hpp"

#include "passes/pass_util.hpp"

namespace save {

namespace {

using passes::const_f32;

// The operand as a per-channel vector of `channels` values when its shape,
// right-aligned to an output of rank `rank`, is 1 everywhere but at
// `axis`, where it is 1 or `channels`. Empty otherwise.
std::vector<float> per_channel(const Tensor& c, size_t rank, size_t axis, int64_t channels) {
  const Shape& s = c.shape();
  if (s.size() > rank) return {};
  const size_t off = rank - s.size();
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1 && !(i + off == axis && s[i] == channels)) return {};
  std::vector<float> v(static_cast<size_t>(channels));
  for (int64_t k = 0; k < channels; ++k) v[k] = c.ptr<float>()[c.numel() == 1 ? 0 : k];
  return v;
}

// Folds node `op` (Mul or Add by `cv`) into the Conv/Gemm `base`. False
// when the form is not one this pass handles.
bool fold_one(Graph& g, NodeId base, const Node& op, const std::vector<float>& cv) {
  Node& b = g.nodes[base];
  const bool conv = b.op == "Conv";
  const Tensor& w = *const_f32(g, b.inputs[1]);
  const ValueId bias_id = b.inputs.size() > 2 ? b.inputs[2] : kNoId;
  const Tensor* bias = const_f32(g, bias_id);
  const int64_t channels = static_cast<int64_t>(cv.size());
  const bool trans_b = !conv && b.attrs.get_int("transB", 0) != 0;
  // The bias as a per-channel vector (zeros when absent).
  std::vector<float> bv(cv.size(), 0.f);
  if (bias != nullptr) {
    if (conv) {
      for (int64_t k = 0; k < channels; ++k) bv[k] = bias->ptr<float>()[k];
    } else {
      bv = per_channel(*bias, 2, 1, channels);  // Gemm's C: scalar, [n] or [1, n] only
      if (bv.empty()) return false;
    }
  }
  if (!conv && op.op == "Add" && bias != nullptr && b.attrs.get_float("beta", 1.f) != 1.f)
    return false;
  if (!conv && bias != nullptr && op.op == "Mul" && b.attrs.get_float("beta", 1.f) == 0.f)
    return false;
  Tensor w2 = w;
  if (op.op == "Mul") {
    w2 = w.clone();
    float* p = w2.ptr<float>();
    if (conv || trans_b) {  // rows are output channels
      const int64_t per = w.numel() / channels;
      for (int64_t k = 0; k < channels; ++k)
        for (int64_t i = 0; i < per; ++i) p[k * per + i] *= cv[k];
    } else {  // Gemm B [k, n]: columns are output channels
      for (int64_t r = 0; r < w.shape()[0]; ++r)
        for (int64_t k = 0; k < channels; ++k) p[r * channels + k] *= cv[k];
    }
    for (int64_t k = 0; k < channels; ++k) bv[k] *= cv[k];
  } else {
    const float beta = conv || bias == nullptr ? 1.f : b.attrs.get_float("beta", 1.f);
    for (int64_t k = 0; k < channels; ++k) bv[k] += cv[k] / beta;
  }
  const bool need_bias = bias != nullptr || op.op == "Add";
  const std::string wname = g.values[b.inputs[1]].name + "*" + op.name;
  const std::string bname =
      (bias ? g.values[bias_id].name : g.values[b.inputs[1]].name + ".bias") + "+" + op.name;
  ValueId wv = op.op == "Mul" ? passes::add_constant(g, wname, std::move(w2)) : b.inputs[1];
  ValueId bid = kNoId;
  if (need_bias) bid = passes::add_constant(g, bname, Tensor::from<float>({channels}, bv));
  Node& b2 = g.nodes[base];
  b2.inputs.resize(3, kNoId);
  b2.inputs[1] = wv;
  b2.inputs[2] = bid;
  if (!conv && bias == nullptr && need_bias) b2.attrs.set("beta", 1.f);
  return true;
}

}  // namespace

size_t fold_scale_bias(Graph& g) {
  size_t folded = 0;
  std::vector<bool> drop(g.nodes.size(), false);
  for (NodeId n = 0; n < g.nodes.size(); ++n) {
    if (drop[n]) continue;
    const std::string op = g.nodes[n].op;
    if ((op != "Conv" && op != "Gemm") || g.nodes[n].inputs.size() < 2 ||
        g.nodes[n].outputs.size() != 1)
      continue;
    for (;;) {
      const Node& b = g.nodes[n];
      const Tensor* w = const_f32(g, b.inputs[1]);
      const ValueId bias_id = b.inputs.size() > 2 ? b.inputs[2] : kNoId;
      if (w == nullptr || (bias_id != kNoId && const_f32(g, bias_id) == nullptr)) break;
      if (op == "Conv" ? w->rank() < 3 : w->rank() != 2) break;
      const ValueId y = b.outputs[0];
      const NodeId c = passes::sole_consumer(g, y);
      if (c == kNoId || drop[c]) break;
      const Node& m = g.nodes[c];
      if ((m.op != "Mul" && m.op != "Add") || m.outputs.size() != 1) break;
      const Tensor* cst = const_f32(g, passes::other_input(m, y));
      if (cst == nullptr) break;
      const bool trans_b = op == "Gemm" && b.attrs.get_int("transB", 0) != 0;
      const int64_t channels =
          op == "Conv" ? w->shape()[0] : (trans_b ? w->shape()[0] : w->shape()[1]);
      const size_t rank = op == "Conv" ? w->rank() : 2;
      const std::vector<float> cv = per_channel(*cst, rank, 1, channels);
      if (cv.empty()) break;
      // A Gemm output's channel axis is its last (1); a conv's is axis 1.
      const Node mcopy = m;
      if (!fold_one(g, n, mcopy, cv)) break;
      g.nodes[n].outputs[0] = mcopy.outputs[0];  // the base now writes the Mul/Add's output
      drop[c] = true;
      ++folded;
    }
  }
  if (folded > 0) passes::drop_nodes(g, drop);
  return folded;
}

}  // namespace save
