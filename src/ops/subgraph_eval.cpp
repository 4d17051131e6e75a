#include "ops/subgraph_eval.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace save {

namespace {

const OpDef& op_of(const Node& owner, const Node& n) {
  const OpDef* def = find_op(n.op, n.domain);
  SAVE_CHECK(def != nullptr, "{}: its subgraph uses unsupported operator '{}' (node '{}')",
             node_label(owner), n.op, n.name);
  return *def;
}

// Errors inside a subgraph name the node that owns it, so a user can find
// the subgraph in the model.
[[noreturn]] void rethrow_in(const Node& owner, const std::exception& e) {
  std::string msg = e.what();
  const std::string label = node_label(owner);
  if (msg.rfind(label, 0) == 0) throw Error(msg);
  throw Error(fmt::format("{}: in its subgraph: {}", label, msg));
}

// Input i of subgraph node `n` as a tensor view: the constant's data, or
// shape and type only (data == nullptr) when not known.
struct Slot {
  TensorInfo info;
  std::optional<Tensor> value;
  bool present = false;
};

}  // namespace

const Subgraph& graph_attr(const Node& n, const char* name) {
  const Subgraph* g = n.attrs.get_graph(name);
  SAVE_NODE_CHECK(g != nullptr, n, "required graph attribute '{}' is missing", name);
  return *g;
}

SubgraphInfo infer_subgraph(const Subgraph& sg, const Node& owner,
                            const std::vector<TensorInfo>& inputs,
                            const std::vector<const Tensor*>& constants) {
  const Graph& g = sg.graph;
  SAVE_NODE_CHECK(inputs.size() == g.inputs.size(), owner, "its subgraph takes {} inputs, {} given",
                  g.inputs.size(), inputs.size());
  std::vector<Slot> vals(g.values.size());
  for (ValueId v = 0; v < g.values.size(); ++v) {
    if (!g.values[v].constant) continue;
    vals[v].info = {g.values[v].constant->dtype(), g.values[v].constant->shape()};
    vals[v].value = *g.values[v].constant;
    vals[v].present = true;
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    Slot& s = vals[g.inputs[i]];
    s.info = inputs[i];
    s.present = true;
    if (i < constants.size() && constants[i] != nullptr) s.value = *constants[i];
  }
  try {
    for (const Node& n : g.nodes) {
      const OpDef& def = op_of(owner, n);
      std::vector<const TensorInfo*> in_infos;
      std::vector<const Tensor*> consts;
      bool all_const = true;
      for (ValueId v : n.inputs) {
        if (v == kNoId) {
          in_infos.push_back(nullptr);
          consts.push_back(nullptr);
          continue;
        }
        SAVE_NODE_CHECK(vals[v].present, n, "input '{}' has no value", g.values[v].name);
        in_infos.push_back(&vals[v].info);
        consts.push_back(vals[v].value ? &*vals[v].value : nullptr);
        all_const = all_const && vals[v].value.has_value();
      }
      InferContext ictx{n, g.opset, in_infos, consts, {}};
      ictx.outputs.resize(n.outputs.size());
      def.infer(ictx);
      SAVE_NODE_CHECK(ictx.outputs.size() >= n.outputs.size(), n, "shape rule gave {} outputs",
                      ictx.outputs.size());
      std::vector<Tensor> outs;
      if (all_const || def.shape_only) {
        std::vector<TensorView> iv;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          const ValueId v = n.inputs[i];
          if (v == kNoId)
            iv.emplace_back();
          else if (vals[v].value)
            iv.push_back(vals[v].value->view());
          else
            iv.push_back(TensorView{vals[v].info.dtype, vals[v].info.shape, nullptr});
        }
        std::vector<TensorView> ov;
        for (const TensorInfo& info : ictx.outputs) {
          outs.emplace_back(info.dtype == DType::kUndefined ? Tensor{}
                                                            : Tensor(info.dtype, info.shape));
          ov.push_back(outs.back().defined() ? outs.back().view() : TensorView{});
        }
        KernelContext kctx{n, iv, ov, 0, g.opset};
        def.reference(kctx);
      }
      for (size_t o = 0; o < n.outputs.size(); ++o) {
        if (n.outputs[o] == kNoId) continue;
        Slot& s = vals[n.outputs[o]];
        s.info = ictx.outputs[o];
        s.present = ictx.outputs[o].dtype != DType::kUndefined;
        if (o < outs.size() && outs[o].defined()) s.value = outs[o];
      }
    }
  } catch (const std::exception& e) {
    rethrow_in(owner, e);
  }
  SubgraphInfo out;
  for (ValueId v : g.outputs) {
    SAVE_NODE_CHECK(vals[v].present, owner, "its subgraph's output '{}' has no value",
                    g.values[v].name);
    out.outputs.push_back(vals[v].info);
    out.constants.push_back(vals[v].value);
  }
  return out;
}

std::vector<Tensor> run_subgraph(const Subgraph& sg, const Node& owner,
                                 const std::vector<Tensor>& inputs) {
  std::vector<TensorInfo> infos;
  std::vector<const Tensor*> consts;
  for (const Tensor& t : inputs) {
    infos.push_back({t.dtype(), t.shape()});
    consts.push_back(&t);
  }
  SubgraphInfo info = infer_subgraph(sg, owner, infos, consts);
  std::vector<Tensor> out;
  for (size_t k = 0; k < info.outputs.size(); ++k) {
    SAVE_NODE_CHECK(info.constants[k].has_value(), owner,
                    "its subgraph's output {} was not computed", k);
    out.push_back(std::move(*info.constants[k]));
  }
  return out;
}

std::vector<Bounds> interval_subgraph(const Subgraph& sg, const Node& owner,
                                      const std::vector<Bounds>& inputs,
                                      const IntervalOptions& opts) {
  const Graph& g = sg.graph;
  SAVE_NODE_CHECK(inputs.size() == g.inputs.size(), owner, "its subgraph takes {} inputs, {} given",
                  g.inputs.size(), inputs.size());
  std::vector<Bounds> b(g.values.size());
  for (ValueId v = 0; v < g.values.size(); ++v)
    if (g.values[v].constant) b[v] = Bounds::point(*g.values[v].constant);
  for (size_t i = 0; i < g.inputs.size(); ++i) b[g.inputs[i]] = inputs[i];
  try {
    for (const Node& n : g.nodes) {
      const OpDef& def = op_of(owner, n);
      std::vector<Bounds> in;
      std::vector<TensorInfo> infos(n.inputs.size());
      std::vector<const TensorInfo*> in_infos;
      std::vector<const Tensor*> consts;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const ValueId v = n.inputs[i];
        if (v == kNoId || !b[v].lo.defined()) {
          in.emplace_back();
          in_infos.push_back(nullptr);
          consts.push_back(nullptr);
          continue;
        }
        in.push_back(b[v]);
        infos[i] = {b[v].lo.dtype(), b[v].lo.shape()};
        in_infos.push_back(&infos[i]);
        // An exactly known value is a constant to the shape rule (a
        // Reshape's target shape, a Slice's starts).
        consts.push_back(b[v].exact() ? &b[v].lo : nullptr);
      }
      InferContext ictx{n, g.opset, in_infos, consts, {}};
      ictx.outputs.resize(n.outputs.size());
      def.infer(ictx);
      ictx.outputs.resize(n.outputs.size());
      std::vector<Bounds> out = eval_interval(def, n, g.opset, in, ictx.outputs, opts);
      for (size_t o = 0; o < n.outputs.size(); ++o)
        if (n.outputs[o] != kNoId) b[n.outputs[o]] = out[o];
    }
  } catch (const std::exception& e) {
    rethrow_in(owner, e);
  }
  std::vector<Bounds> out;
  for (ValueId v : g.outputs) out.push_back(b[v]);
  return out;
}

Tensor copy_of(const TensorView& v) {
  Tensor t(v.dtype, Shape(v.shape.begin(), v.shape.end()));
  if (v.nbytes() > 0) std::memcpy(t.data(), v.data, v.nbytes());
  return t;
}

namespace {
// x viewed as [outer, len, inner bytes] around `axis`.
struct AxisSplit {
  int64_t outer = 1, len = 1;
  size_t inner = 1;
};
AxisSplit split_at(std::span<const int64_t> shape, int64_t axis, DType dt) {
  AxisSplit s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= shape[static_cast<size_t>(d)];
  s.len = shape[static_cast<size_t>(axis)];
  s.inner = dtype_size(dt);
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d)
    s.inner *= static_cast<size_t>(shape[d]);
  return s;
}
}  // namespace

Tensor slice_axis(const TensorView& x, int64_t axis, int64_t idx) {
  Shape shape(x.shape.begin(), x.shape.end());
  const AxisSplit s = split_at(x.shape, axis, x.dtype);
  shape.erase(shape.begin() + axis);
  Tensor out(x.dtype, shape);
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(x.data);
  for (int64_t o = 0; o < s.outer; ++o)
    std::memcpy(dst + static_cast<size_t>(o) * s.inner,
                src + static_cast<size_t>(o * s.len + idx) * s.inner, s.inner);
  return out;
}

void place_axis(const TensorView& dst, int64_t axis, int64_t idx, const TensorView& src) {
  const AxisSplit s = split_at(dst.shape, axis, dst.dtype);
  auto* d = static_cast<std::byte*>(dst.data);
  const auto* from = static_cast<const std::byte*>(src.data);
  for (int64_t o = 0; o < s.outer; ++o)
    std::memcpy(d + static_cast<size_t>(o * s.len + idx) * s.inner,
                from + static_cast<size_t>(o) * s.inner, s.inner);
}

Bounds hull(const Bounds& a, const Bounds& b) {
  if (!a.known || !b.known || a.lo.dtype() != b.lo.dtype() || a.lo.shape() != b.lo.shape()) {
    Bounds u;
    u.lo = Tensor(a.lo.dtype(), a.lo.shape());
    u.hi = u.lo;
    if (is_float(a.lo.dtype())) return Bounds::unbounded({a.lo.dtype(), a.lo.shape()});
    return u;
  }
  Bounds h{true, Tensor(a.lo.dtype(), a.lo.shape()), Tensor(a.lo.dtype(), a.lo.shape())};
  dispatch_dtype(a.lo.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *al = a.lo.ptr<T>(), *ah = a.hi.ptr<T>(), *bl = b.lo.ptr<T>(), *bh = b.hi.ptr<T>();
    T *l = h.lo.ptr<T>(), *u = h.hi.ptr<T>();
    for (int64_t e = 0; e < h.lo.numel(); ++e) {
      l[e] = std::min(al[e], bl[e]);
      u[e] = std::max(ah[e], bh[e]);
      if constexpr (std::is_floating_point_v<T>) {
        // A NaN bound means nothing is known of the element.
        if (std::isnan(al[e]) || std::isnan(bl[e])) l[e] = -std::numeric_limits<T>::infinity();
        if (std::isnan(ah[e]) || std::isnan(bh[e])) u[e] = std::numeric_limits<T>::infinity();
      }
    }
  });
  return h;
}

bool same_bounds(const Bounds& a, const Bounds& b) {
  if (a.known != b.known) return false;
  if (!a.known) return true;
  return a.lo.nbytes() == b.lo.nbytes() &&
         std::memcmp(a.lo.data(), b.lo.data(), a.lo.nbytes()) == 0 &&
         std::memcmp(a.hi.data(), b.hi.data(), a.hi.nbytes()) == 0;
}

}  // namespace save
