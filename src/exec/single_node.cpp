#include "exec/single_node.hpp"

#include "exec/dnnl_context.hpp"

namespace save {

namespace {
struct Prepared {
  const OpDef* def;
  std::vector<TensorInfo> in_infos;
  std::vector<TensorInfo> out_infos;
  std::vector<const TensorInfo*> in_ptrs;
  std::vector<const Tensor*> consts;
};

Prepared prepare(const Node& node, const std::vector<Tensor>& inputs, int64_t opset,
                 bool inputs_are_constant, size_t num_outputs) {
  Prepared p;
  p.def = find_op(node.op, node.domain);
  SAVE_CHECK(p.def != nullptr, "unsupported operator '{}' (node '{}')", node.op, node.name);
  p.in_infos.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      p.in_ptrs.push_back(nullptr);
      p.consts.push_back(nullptr);
      continue;
    }
    p.in_infos[i] = TensorInfo{inputs[i].dtype(), inputs[i].shape()};
    p.in_ptrs.push_back(&p.in_infos[i]);
    p.consts.push_back(inputs_are_constant ? &inputs[i] : nullptr);
  }
  InferContext ctx{node, opset, p.in_ptrs, p.consts, {}};
  if (num_outputs > 0) ctx.outputs.resize(num_outputs);
  p.def->infer(ctx);
  p.out_infos = std::move(ctx.outputs);
  return p;
}
}  // namespace

std::vector<TensorInfo> infer_single_node(const Node& node, const std::vector<Tensor>& inputs,
                                          int64_t opset, bool inputs_are_constant,
                                          size_t num_outputs) {
  return prepare(node, inputs, opset, inputs_are_constant, num_outputs).out_infos;
}

SingleNodeResult run_single_node(const Node& node, const std::vector<Tensor>& inputs,
                                 KernelChoice choice, int64_t opset, bool inputs_are_constant,
                                 size_t num_outputs) {
  Prepared p = prepare(node, inputs, opset, inputs_are_constant, num_outputs);
  SingleNodeResult res;
  std::vector<TensorView> in_views, out_views;
  for (const Tensor& t : inputs) in_views.push_back(t.defined() ? t.view() : TensorView{});
  for (const TensorInfo& info : p.out_infos) {
    if (info.dtype == DType::kUndefined) {
      res.outputs.emplace_back();
      out_views.emplace_back();
      continue;
    }
    res.outputs.emplace_back(info.dtype, info.shape);
    out_views.push_back(res.outputs.back().view());
  }
  KernelContext kctx{node, in_views, out_views, 0, opset};
  if (choice == KernelChoice::kFast && p.def->make_fast != nullptr) {
    std::vector<const TensorInfo*> outs;
    for (const auto& o : p.out_infos) outs.push_back(&o);
    auto& dn = DnnlContext::get();
    PrepareContext pctx{node, opset, p.in_ptrs, p.consts, outs, &dn.engine, &dn.stream};
    if (auto k = p.def->make_fast(pctx)) {
      k->run(kctx);
      res.used_fast = true;
      return res;
    }
  }
  p.def->reference(kctx);
  return res;
}

}  // namespace save
