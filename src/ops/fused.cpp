// Fused ops (see fused.hpp). Everything but the fast kernel is the parts'
// own rules run one after the other: a fused node is unfolded into a small
// program of ONNX nodes (the base op, then one or two nodes per post-op) and
// the shape rule, the reference kernel and the interval rule run that
// program with the parts' OpDefs. So the fused op means exactly what the
// chain it replaced meant, and the range analysis stays as sound as the
// parts' rules (each part's bounds are widened for rounding, as they were
// when the parts were separate nodes).
#include "ops/fused.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

constexpr const char* kPostOpNames[] = {"Relu",        "LeakyRelu", "Clip",  "Sigmoid",
                                        "HardSigmoid", "HardSwish", "Swish", "Gelu",
                                        "GeluTanh",    "Tanh",      "Add",   "Mul"};
constexpr const char* kBaseOps[] = {"Conv", "ConvTranspose", "MatMul", "Gemm"};

}  // namespace

bool is_post_op_name(const std::string& op) {
  return std::any_of(std::begin(kPostOpNames), std::end(kPostOpNames),
                     [&](const char* n) { return op == n; });
}

std::string fused_op_type(const std::string& base) {
  for (const char* b : kBaseOps)
    if (base == b) return std::string("Fused") + b;
  return "";
}

std::string base_op_type(const std::string& fused) {
  for (const char* b : kBaseOps)
    if (fused == std::string("Fused") + b) return b;
  return "";
}

size_t base_input_count(const std::string& base) {
  return base == "MatMul" ? 2 : 3;
}

std::vector<PostOp> get_post_ops(const Node& n) {
  std::vector<std::string> names;
  if (n.attrs.has("fused_ops")) {
    const AttrValue& v = n.attrs.all().at("fused_ops");
    SAVE_NODE_CHECK(std::holds_alternative<std::vector<std::string>>(v), n,
                    "attribute fused_ops must be a list of strings");
    names = std::get<std::vector<std::string>>(v);
  }
  std::vector<float> a = n.attrs.get_floats("fused_alpha"), b = n.attrs.get_floats("fused_beta");
  SAVE_NODE_CHECK(a.size() == names.size() && b.size() == names.size(), n,
                  "fused_ops, fused_alpha and fused_beta differ in length");
  std::vector<PostOp> ops;
  for (size_t i = 0; i < names.size(); ++i) {
    SAVE_NODE_CHECK(is_post_op_name(names[i]), n, "unknown post-op '{}'", names[i]);
    ops.push_back({names[i], a[i], b[i]});
  }
  return ops;
}

void set_post_ops(Node& n, const std::vector<PostOp>& ops) {
  std::vector<std::string> names;
  std::vector<float> a, b;
  for (const PostOp& p : ops) {
    names.push_back(p.op);
    a.push_back(p.alpha);
    b.push_back(p.beta);
  }
  n.attrs.set("fused_ops", names);
  n.attrs.set("fused_alpha", a);
  n.attrs.set("fused_beta", b);
}

double post_op_gain(const std::vector<PostOp>& ops, const std::vector<double>& mul_max_abs) {
  double g = 1;
  size_t mul = 0;
  for (const PostOp& p : ops) {
    if (p.op == "LeakyRelu")
      g *= std::max(1.0, std::abs(static_cast<double>(p.alpha)));
    else if (p.op == "HardSigmoid")
      g *= std::abs(static_cast<double>(p.alpha));
    else if (p.op == "HardSwish")
      g *= 1.5;  // d/dx x(x+3)/6 = (2x+3)/6, at most 1.5 on [-3, 3]
    else if (p.op == "Swish")
      g *= 1.1;  // max of d/dx x*sigmoid(x) is 1.0998
    else if (p.op == "Gelu" || p.op == "GeluTanh")
      g *= 1.13;  // max slope of both forms is 1.1290
    else if (p.op == "Mul")
      g *= mul < mul_max_abs.size() ? mul_max_abs[mul++] : std::numeric_limits<double>::infinity();
    // Relu Clip Sigmoid Tanh Add: at most 1.
  }
  return std::isfinite(g) ? g : std::numeric_limits<double>::infinity();
}

namespace {

// ---- the fused node as a program of parts ----

// One part: an ONNX node run with its own OpDef. `in` holds slot ids: slots
// [0, n_inputs) are the fused node's inputs, slot n_inputs + i is part i's
// output; -1 is an omitted input. The last part's output is the node's.
struct Part {
  Node node;
  const OpDef* def = nullptr;
  std::vector<int> in;
};

struct Program {
  size_t n_inputs = 0;
  std::vector<Part> parts;
};

Program unfold(const Node& fused) {
  const std::string base = base_op_type(fused.op);
  SAVE_CHECK(!base.empty(), "{} is not a fused op", node_label(fused));
  const std::vector<PostOp> ops = get_post_ops(fused);
  const size_t nb = base_input_count(base);
  const size_t nbin = static_cast<size_t>(
      std::count_if(ops.begin(), ops.end(), [](const PostOp& p) { return p.binary(); }));
  SAVE_NODE_CHECK(fused.inputs.size() == nb + nbin, fused,
                  "expected {} inputs ({} of {} and one per binary post-op), got {}", nb + nbin, nb,
                  base, fused.inputs.size());
  Program p;
  p.n_inputs = fused.inputs.size();
  auto add = [&](const std::string& op, Attributes attrs, std::vector<int> in) {
    Part part;
    part.node.name = fused.name;
    part.node.op = op;
    part.node.attrs = std::move(attrs);
    part.def = find_op(op);
    SAVE_NODE_CHECK(part.def != nullptr, fused, "no op {}", op);
    part.in = std::move(in);
    p.parts.push_back(std::move(part));
    return static_cast<int>(p.n_inputs + p.parts.size() - 1);
  };
  std::vector<int> base_in;
  for (size_t i = 0; i < nb; ++i) base_in.push_back(fused.inputs[i] == kNoId ? -1 : int(i));
  // The base op ignores the fused_* attributes it does not know.
  int cur = add(base, fused.attrs, base_in);
  int extra = static_cast<int>(nb);
  for (const PostOp& po : ops) {
    Attributes a;
    if (po.binary()) {
      cur = add(po.op, a, {cur, extra++});
    } else if (po.op == "Swish") {
      int s = add("Sigmoid", a, {cur});
      cur = add("Mul", a, {cur, s});
    } else if (po.op == "GeluTanh") {
      a.set("approximate", std::string("tanh"));
      cur = add("Gelu", a, {cur});
    } else {
      if (po.op == "LeakyRelu") a.set("alpha", po.alpha);
      if (po.op == "HardSigmoid") {
        a.set("alpha", po.alpha);
        a.set("beta", po.beta);
      }
      if (po.op == "Clip") {  // attributes win over inputs in the Clip rules
        a.set("min", po.alpha);
        a.set("max", po.beta);
      }
      cur = add(po.op, a, {cur});
    }
  }
  return p;
}

// The parts' shape rules, in order; fills `infos` (one per slot).
void infer_program(const Program& p, int64_t opset, std::vector<TensorInfo>& infos,
                   const std::vector<const Tensor*>& input_consts) {
  for (const Part& part : p.parts) {
    std::vector<const TensorInfo*> in;
    std::vector<const Tensor*> consts;
    for (int s : part.in) {
      in.push_back(s < 0 ? nullptr : &infos[static_cast<size_t>(s)]);
      consts.push_back(s >= 0 && static_cast<size_t>(s) < input_consts.size()
                           ? input_consts[static_cast<size_t>(s)]
                           : nullptr);
    }
    InferContext ic{part.node, opset, in, consts, {}};
    ic.outputs.resize(1);
    part.def->infer(ic);
    infos.push_back(ic.outputs[0]);
  }
}

void fused_infer(InferContext& ctx) {
  Program p = unfold(ctx.node);
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < p.n_inputs; ++i)
    infos.push_back(ctx.has_input(i) ? ctx.input(i) : TensorInfo{});
  infer_program(p, ctx.opset, infos, ctx.constants);
  ctx.set_output(0, infos.back().dtype, infos.back().shape);
}

// Composed from the parts' reference kernels, intermediates in temporaries.
void fused_reference(const KernelContext& ctx) {
  Program p = unfold(ctx.node);
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < p.n_inputs; ++i)
    infos.push_back(ctx.has_input(i)
                        ? TensorInfo{ctx.inputs[i].dtype,
                                     Shape(ctx.inputs[i].shape.begin(), ctx.inputs[i].shape.end())}
                        : TensorInfo{});
  infer_program(p, ctx.opset, infos, {});
  std::vector<Tensor> temps(p.parts.size());
  std::vector<TensorView> slots(ctx.inputs.begin(), ctx.inputs.end());
  for (size_t k = 0; k < p.parts.size(); ++k) {
    const Part& part = p.parts[k];
    const TensorInfo& oi = infos[p.n_inputs + k];
    TensorView out;
    if (k + 1 == p.parts.size()) {
      out = ctx.outputs[0];
    } else {
      temps[k] = Tensor(oi.dtype, oi.shape);
      out = temps[k].view();
    }
    std::vector<TensorView> in;
    for (int s : part.in) in.push_back(s < 0 ? TensorView{} : slots[static_cast<size_t>(s)]);
    KernelContext kc{part.node, in, std::span<const TensorView>(&out, 1), ctx.constants_epoch,
                     ctx.opset};
    part.def->reference(kc);
    slots.push_back(out);
  }
}

Tensor copy_of(const TensorView& v) {
  Tensor t(v.dtype, Shape(v.shape.begin(), v.shape.end()));
  if (t.nbytes() > 0) std::memcpy(t.data(), v.data, t.nbytes());
  return t;
}

// Composed from the parts' interval rules (eval_interval per part, which
// also widens each part's float bounds for rounding).
void fused_interval(const IntervalContext& ctx) {
  Program p = unfold(ctx.node);
  std::vector<Bounds> slots;
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < p.n_inputs; ++i) {
    Bounds b;
    if (ctx.known(i)) {
      b.known = true;
      b.lo = copy_of(ctx.lo[i]);
      b.hi = copy_of(ctx.hi[i]);
    } else if (ctx.has_input(i)) {
      b.lo = b.hi = Tensor(ctx.lo[i].dtype, Shape(ctx.lo[i].shape.begin(), ctx.lo[i].shape.end()));
    }
    infos.push_back(b.lo.defined() ? TensorInfo{b.lo.dtype(), b.lo.shape()} : TensorInfo{});
    slots.push_back(std::move(b));
  }
  infer_program(p, ctx.opset, infos, {});
  for (size_t k = 0; k < p.parts.size(); ++k) {
    const Part& part = p.parts[k];
    std::vector<Bounds> in;
    for (int s : part.in) in.push_back(s < 0 ? Bounds{} : slots[static_cast<size_t>(s)]);
    std::vector<Bounds> out =
        eval_interval(*part.def, part.node, ctx.opset, in, {infos[p.n_inputs + k]}, ctx.opts);
    slots.push_back(std::move(out[0]));
  }
  const Bounds& r = slots.back();
  if (!r.known || ctx.out_lo.empty() || ctx.out_lo[0].data == nullptr) return ctx.decline();
  SAVE_NODE_CHECK(r.lo.nbytes() == ctx.out_lo[0].nbytes(), ctx.node, "bounds of the wrong size");
  std::memcpy(ctx.out_lo[0].data, r.lo.data(), r.lo.nbytes());
  std::memcpy(ctx.out_hi[0].data, r.hi.data(), r.hi.nbytes());
}

// ---- oneDNN post-ops ----

void append_eltwise(DnnlFusion& f, dnnl::algorithm alg, float alpha, float beta) {
  f.ops.append_eltwise(1.f, alg, alpha, beta);
}

// The operand's dims as the destination sees them, or empty when the
// operand cannot be a oneDNN binary operand there.
dnnl::memory::dims operand_dims(const Shape& operand, const Shape& out,
                                const std::vector<int64_t>& dst_dims) {
  if (operand.size() > out.size()) return {};
  Shape p(out.size() - operand.size(), 1);
  p.insert(p.end(), operand.begin(), operand.end());
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != 1 && p[i] != out[i]) return {};  // would broadcast the output larger
  if (Shape(dst_dims.begin(), dst_dims.end()) == out) return {p.begin(), p.end()};
  // A [rows, n] view of the output (matmul with batch folded into rows).
  if (dst_dims.size() != 2 || out.empty()) return {};
  if (p == out) return {dst_dims[0], dst_dims[1]};
  if (std::all_of(p.begin(), p.end() - 1, [](int64_t d) { return d == 1; })) return {1, p.back()};
  return {};
}

}  // namespace

bool make_dnnl_fusion(const PrepareContext& ctx, const Shape& base_out,
                      const std::vector<int64_t>& dst_dims, bool allow_sum, DnnlFusion& f) {
  using dnnl::algorithm;
  const std::vector<PostOp> ops = get_post_ops(ctx.node);
  const size_t nb = base_input_count(base_op_type(ctx.node.op));
  if (ctx.outputs.empty() || ctx.outputs[0] == nullptr || ctx.outputs[0]->shape != base_out)
    return false;
  size_t extra = nb;
  for (const PostOp& po : ops) {
    if (po.op == "Relu") {
      append_eltwise(f, algorithm::eltwise_relu, 0.f, 0.f);
    } else if (po.op == "LeakyRelu") {
      append_eltwise(f, algorithm::eltwise_relu, po.alpha, 0.f);
    } else if (po.op == "Clip") {
      append_eltwise(f, algorithm::eltwise_clip, po.alpha, po.beta);
    } else if (po.op == "Sigmoid") {
      append_eltwise(f, algorithm::eltwise_logistic, 0.f, 0.f);
    } else if (po.op == "HardSigmoid") {
      append_eltwise(f, algorithm::eltwise_linear, po.alpha, po.beta);
      append_eltwise(f, algorithm::eltwise_clip, 0.f, 1.f);
    } else if (po.op == "HardSwish") {
      append_eltwise(f, algorithm::eltwise_hardswish, 0.f, 0.f);
    } else if (po.op == "Swish") {
      append_eltwise(f, algorithm::eltwise_swish, 1.f, 0.f);
    } else if (po.op == "Gelu") {
      append_eltwise(f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
    } else if (po.op == "GeluTanh") {
      append_eltwise(f, algorithm::eltwise_gelu_tanh, 0.f, 0.f);
    } else if (po.op == "Tanh") {
      append_eltwise(f, algorithm::eltwise_tanh, 0.f, 0.f);
    } else if (po.binary()) {
      const size_t in = extra++;
      if (!ctx.has_input(in) || ctx.inputs[in]->dtype != DType::kF32) return false;
      const Shape& s = ctx.inputs[in]->shape;
      if (po.op == "Add" && allow_sum && f.sum_input < 0 && s == base_out) {
        f.sum_input = static_cast<int>(in);
        f.ops.append_sum(1.f);
        continue;
      }
      dnnl::memory::dims d = operand_dims(s, base_out, dst_dims);
      if (d.empty()) return false;
      // Row-major strides (the engine's plain layout).
      dnnl::memory::dims strides(d.size(), 1);
      for (size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * d[i];
      dnnl::memory::desc md(d, dnnl::memory::data_type::f32, strides);
      f.binaries.push_back({f.ops.len(), in, md});
      f.ops.append_binary(po.op == "Add" ? algorithm::binary_add : algorithm::binary_mul, md);
    } else {
      return false;
    }
  }
  return true;
}

namespace {

std::unique_ptr<Kernel> fused_make_fast(const PrepareContext& ctx) {
  const std::string base = base_op_type(ctx.node.op);
  if (base == "Conv") return make_conv_kernel(ctx, true);
  if (base == "ConvTranspose") return make_deconv_kernel(ctx, true);
  if (base == "MatMul") return make_matmul_kernel(ctx, true);
  if (base == "Gemm") return make_gemm_kernel(ctx, true);
  return nullptr;
}

#define SAVE_FUSED_DEF(base)                                                                \
  const OpDef kFused##base{"Fused" #base, fused_infer,    fused_reference, fused_make_fast, \
                           false,         fused_interval, kSaveDomain};
SAVE_FUSED_DEF(Conv)
SAVE_FUSED_DEF(ConvTranspose)
SAVE_FUSED_DEF(MatMul)
SAVE_FUSED_DEF(Gemm)
#undef SAVE_FUSED_DEF

}  // namespace

void register_fused_ops(OpRegistry& r) {
  r.add(kFusedConv);
  r.add(kFusedConvTranspose);
  r.add(kFusedMatMul);
  r.add(kFusedGemm);
}

}  // namespace save
