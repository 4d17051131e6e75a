#include "passes/fold_batchnorm.hpp"

#include <cmath>

#include "passes/pass_util.hpp"

namespace save {

using passes::add_constant;
using passes::const_f32;

size_t fold_batchnorm_into_conv(Graph& g) {
  size_t folded = 0;
  std::vector<bool> drop(g.nodes.size(), false);
  for (NodeId b = 0; b < g.nodes.size(); ++b) {
    Node& bn = g.nodes[b];
    if (bn.op != "BatchNormalization" || bn.inputs.size() < 5) continue;
    if (bn.attrs.get_int("training_mode", 0) != 0) continue;
    bool extra_outputs = false;
    for (size_t o = 1; o < bn.outputs.size(); ++o) extra_outputs |= bn.outputs[o] != kNoId;
    if (extra_outputs) continue;
    ValueId y = bn.inputs[0];
    const Value& yv = g.values[y];
    if (yv.producer == kNoId || yv.consumers.size() != 1 || yv.is_graph_output) continue;
    Node& conv = g.nodes[yv.producer];
    if (conv.op != "Conv" || conv.inputs.size() < 2) continue;
    const Tensor* w = const_f32(g, conv.inputs[1]);
    const Tensor* bias = conv.inputs.size() > 2 ? const_f32(g, conv.inputs[2]) : nullptr;
    bool has_bias_input = conv.inputs.size() > 2 && conv.inputs[2] != kNoId;
    const Tensor *scale = const_f32(g, bn.inputs[1]), *shift = const_f32(g, bn.inputs[2]),
                 *mean = const_f32(g, bn.inputs[3]), *var = const_f32(g, bn.inputs[4]);
    if (!w || !scale || !shift || !mean || !var || (has_bias_input && !bias)) continue;
    if (w->rank() < 3) continue;
    int64_t c_out = w->shape()[0];
    if (scale->numel() != c_out || shift->numel() != c_out || mean->numel() != c_out ||
        var->numel() != c_out || (bias && bias->numel() != c_out))
      continue;
    // Another reader of the conv weight would see the folded values: skip.
    if (g.values[conv.inputs[1]].consumers.size() != 1) continue;

    float eps = bn.attrs.get_float("epsilon", 1e-5f);
    Tensor w2 = w->clone();
    Tensor b2(DType::kF32, {c_out});
    int64_t per_out = w->numel() / c_out;
    for (int64_t c = 0; c < c_out; ++c) {
      double s = static_cast<double>(scale->ptr<float>()[c]) /
                 std::sqrt(static_cast<double>(var->ptr<float>()[c]) + eps);
      float* row = w2.ptr<float>() + c * per_out;
      for (int64_t k = 0; k < per_out; ++k) row[k] = static_cast<float>(row[k] * s);
      double b0 = bias ? bias->ptr<float>()[c] : 0.0;
      b2.ptr<float>()[c] =
          static_cast<float>((b0 - mean->ptr<float>()[c]) * s + shift->ptr<float>()[c]);
    }
    std::string base = g.values[conv.inputs[1]].name;
    ValueId wv = add_constant(g, base + "+" + bn.name, std::move(w2));
    ValueId bv = add_constant(
        g, (bias ? g.values[conv.inputs[2]].name : base + ".bias") + "+" + bn.name, std::move(b2));
    Node& conv2 = g.nodes[g.values[y].producer];  // g.values may have reallocated
    conv2.inputs.resize(3);
    conv2.inputs[1] = wv;
    conv2.inputs[2] = bv;
    // The conv now writes the BatchNormalization's output directly.
    ValueId bn_out = g.nodes[b].outputs[0];
    for (ValueId& o : conv2.outputs)
      if (o == y) o = bn_out;
    drop[b] = true;
    ++folded;
  }
  if (folded == 0) return 0;
  std::vector<Node> kept;
  for (NodeId n = 0; n < g.nodes.size(); ++n)
    if (!drop[n]) kept.push_back(std::move(g.nodes[n]));
  g.nodes = std::move(kept);
  g.link();
  return folded;
}

}  // namespace save
