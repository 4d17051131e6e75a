// `--protect abft`: algorithm-based fault tolerance for the linear layers,
// in the style of FT-CNN (Zhao et al., TPDS 2021, its "checksum of
// checksums") and ABED (Ozen et al.). The output of Conv / Gemm / MatMul is
// linear in the weights and in the input, so the output summed over the
// batch (dim 0) and over the output channels equals the same op run once on
// the input summed over the batch, with the weights summed over the output
// channels (one checksum filter per convolution group; a checksum column for
// Gemm/MatMul; the bias summed the same way and times the batch). The
// checksum weights are computed once from the host (golden) copy and kept
// in reliable memory; after each such step the mode sums the step's input
// over the batch, runs the (tiny) checksum op on it and compares the result
// with the output's batch-and-channel sums. A difference beyond the
// rounding tolerance is a detection: the step's weights are reloaded from
// the host copy (a recomputation alone would read the same flipped weights)
// and the step is re-run, at most kMaxRetries times.
//
// Covered: flips in the layer's weights (before or during the run) and in
// its output between write and check. Not covered: flips in the layer's
// input activation (both sides read the same corrupted input), and every op
// that is not Conv/Gemm/MatMul with constant weights (activations, norms,
// attention's activation x activation MatMuls), Gemm with transA.
#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <map>

#include "baselines/modes.hpp"
#include "core/error.hpp"
#include "exec/dnnl_context.hpp"

namespace save::baselines {

namespace {

// Rounding tolerance of the comparison, relative to the magnitudes summed.
constexpr double kRelTol = 1e-4;
constexpr int kMaxRetries = 2;

struct Checksum {
  Node node;  // the step's op and attributes (inputs/outputs unused)
  const OpDef* def = nullptr;
  std::unique_ptr<Kernel> fast;
  Tensor weight, bias;  // summed from the host copy; bias may be undefined
  Tensor xsum;          // the step's input summed over dim 0 (the batch)
  Tensor out;
  std::vector<TensorView> in, outs;
  // The output viewed as outer (the batch, summed) x groups x per_group
  // (summed) x inner, the checksum as groups x inner.
  int64_t outer = 1, groups = 1, per_group = 1, inner = 1;
};

// Sums `w` (float32) over axis-0 blocks of `block` rows: [R, ...] -> [R/block, ...].
Tensor sum_row_blocks(const Tensor& w, int64_t block) {
  Shape s = w.shape();
  int64_t rows = s[0], rest = w.numel() / rows;
  s[0] = rows / block;
  Tensor out(DType::kF32, s);
  const float* p = w.ptr<float>();
  float* q = out.ptr<float>();
  for (int64_t g = 0; g < s[0]; ++g)
    for (int64_t i = 0; i < rest; ++i) {
      double acc = 0;
      for (int64_t r = g * block; r < (g + 1) * block; ++r) acc += p[r * rest + i];
      q[g * rest + i] = static_cast<float>(acc);
    }
  return out;
}

// Sums the last axis of `w` keeping it as size 1: [..., N] -> [..., 1].
Tensor sum_last_axis(const Tensor& w) {
  Shape s = w.shape();
  int64_t n = s.back(), rows = w.numel() / n;
  s.back() = 1;
  Tensor out(DType::kF32, s);
  for (int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += w.ptr<float>()[r * n + j];
    out.ptr<float>()[r] = static_cast<float>(acc);
  }
  return out;
}

Tensor scaled(const Tensor& t, double k) {
  Tensor out = t.clone();
  float* p = out.ptr<float>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<float>(p[i] * k);
  return out;
}

bool host_f32(const Plan& plan, ValueId v) {
  if (v == kNoId) return true;
  const PlannedValue& pv = plan.values()[v];
  return pv.storage == Storage::kConstant && pv.golden.defined() &&
         pv.golden.dtype() == DType::kF32;
}

// The checksum of step `st`, or null when the step is not a linear layer
// with constant float weights.
std::unique_ptr<Checksum> make_checksum(const Plan& plan, const PlannedStep& st) {
  std::string_view op = st.def->name;
  if (!(op == "Conv" || op == "Gemm" || op == "MatMul")) return nullptr;
  if (st.inputs.size() < 2 || st.out_views.empty() || st.out_views[0].dtype != DType::kF32)
    return nullptr;
  if (st.inputs[1] == kNoId || !host_f32(plan, st.inputs[1])) return nullptr;
  ValueId bias_id = st.inputs.size() > 2 ? st.inputs[2] : kNoId;
  if (!host_f32(plan, bias_id)) return nullptr;
  const Graph& g = plan.graph();
  auto cs = std::make_unique<Checksum>();
  cs->node = g.nodes[st.node];
  cs->def = st.def;
  const Tensor& w = plan.values()[st.inputs[1]].golden;
  const Tensor* b = bias_id == kNoId ? nullptr : &plan.values()[bias_id].golden;
  const TensorView& y = st.out_views[0];
  const TensorView& x = st.in_views[0];
  if (x.data == nullptr || x.dtype != DType::kF32 || x.rank() < 2 || y.dim(0) != x.dim(0))
    return nullptr;
  if (op == "Gemm" && cs->node.attrs.get_int("transA", 0) != 0) return nullptr;
  int64_t batch = y.dim(0);
  cs->outer = batch;
  if (op == "Conv") {
    int64_t group = cs->node.attrs.get_int("group", 1);
    int64_t cout = w.shape()[0];
    if (group <= 0 || cout % group != 0) return nullptr;
    cs->weight = sum_row_blocks(w, cout / group);
    if (b) cs->bias = scaled(sum_row_blocks(*b, cout / group), static_cast<double>(batch));
    cs->groups = group;
    cs->per_group = cout / group;
    cs->inner = y.numel() / (batch * cout);
  } else {
    bool trans_b = op == "Gemm" && cs->node.attrs.get_int("transB", 0) != 0;
    if (w.rank() != 2) return nullptr;  // batched constant MatMul: not covered
    cs->weight = trans_b ? sum_row_blocks(w, w.shape()[0]) : sum_last_axis(w);
    int64_t n = y.dim(y.rank() - 1);
    if (b) {
      // Gemm's C, broadcast to the output: every element is added
      // numel(Y) / numel(C) times; the checksum output is one element.
      double total = 0;
      for (int64_t i = 0; i < b->numel(); ++i) total += b->ptr<float>()[i];
      cs->bias = Tensor(DType::kF32, {1});
      cs->bias.ptr<float>()[0] = static_cast<float>(total * static_cast<double>(y.numel()) /
                                                    static_cast<double>(b->numel()));
    }
    cs->groups = y.numel() / (batch * n);
    cs->per_group = n;
  }
  Shape xs(x.shape.begin(), x.shape.end());
  xs[0] = 1;
  cs->xsum = Tensor(DType::kF32, xs);
  // Shape rule and kernel for the checksum op, from the summed constants.
  std::vector<TensorInfo> infos(st.in_views.size());
  std::vector<const TensorInfo*> in_infos;
  std::vector<const Tensor*> consts;
  for (size_t i = 0; i < st.in_views.size(); ++i) {
    const Tensor* c = i == 1 ? &cs->weight : i == 2 ? &cs->bias : nullptr;
    if (c && !c->defined()) c = nullptr;
    if (c) {
      infos[i] = {c->dtype(), c->shape()};
    } else if (i == 0) {
      infos[i] = {DType::kF32, cs->xsum.shape()};
    } else if (st.in_views[i].data != nullptr) {
      infos[i] = {st.in_views[i].dtype,
                  Shape(st.in_views[i].shape.begin(), st.in_views[i].shape.end())};
    }
    in_infos.push_back(st.in_views[i].data || c ? &infos[i] : nullptr);
    consts.push_back(c);
  }
  InferContext ictx{cs->node, g.opset, in_infos, consts, {}};
  ictx.outputs.resize(1);
  st.def->infer(ictx);
  cs->out = Tensor(ictx.outputs[0].dtype, ictx.outputs[0].shape);
  SAVE_CHECK(cs->out.numel() == cs->groups * cs->inner,
             "abft: checksum of '{}' has {} elements, expected {}", cs->node.name, cs->out.numel(),
             cs->groups * cs->inner);
  if (st.def->make_fast) {
    auto& dn = DnnlContext::get();
    std::vector<const TensorInfo*> out_infos = {&ictx.outputs[0]};
    PrepareContext pctx{cs->node, g.opset, in_infos, consts, out_infos, &dn.engine, &dn.stream};
    cs->fast = st.def->make_fast(pctx);
  }
  for (size_t i = 0; i < st.in_views.size(); ++i)
    cs->in.push_back(i == 0                         ? cs->xsum.view()
                     : i == 1                       ? cs->weight.view()
                     : i == 2 && cs->bias.defined() ? cs->bias.view()
                                                    : st.in_views[i]);
  cs->outs.push_back(cs->out.view());
  return cs;
}

class Abft : public HookBaseline {
 public:
  std::string name() const override { return "abft"; }

  size_t after_step(Execution& ex, size_t step) override {
    Plan& plan = ex.plan();
    PlannedStep& st = plan.steps()[step];
    Checksum* cs = checksum_for(plan, st);
    if (cs == nullptr) return step + 1;
    bool ok;
    {
      ScopedMs t(counts_.check_ms);
      ok = verify(*cs, st, ex.constants_epoch(step), plan.graph().opset);
    }
    size_t next = after_check(ex, step, ok, "checksum", kMaxRetries);
    if (next != step) return next;
    // Reload the layer's weights from the host copy, then recompute.
    for (ValueId v : st.inputs)
      if (v != kNoId && plan.values()[v].storage == Storage::kConstant && plan.restore_constant(v))
        ex.constant_changed(v);  // this kernel repacks
    return step;
  }

 protected:
  int64_t reliable_bytes() const override { return bytes_; }

 private:
  Checksum* checksum_for(const Plan& plan, const PlannedStep& st) {
    auto [it, fresh] = sums_.try_emplace(&st);
    if (fresh) {
      it->second = make_checksum(plan, st);
      // The checksum weights are what ABFT must trust: reliable memory.
      if (it->second)
        bytes_ +=
            static_cast<int64_t>(it->second->weight.nbytes() +
                                 (it->second->bias.defined() ? it->second->bias.nbytes() : 0));
    }
    return it->second.get();
  }

  bool verify(Checksum& cs, PlannedStep& st, uint64_t epoch, int64_t opset) {
    // The input summed over the batch (rows of x), then the checksum op on it.
    const TensorView& xv = st.in_views[0];
    const int64_t rows = xv.dim(0), row = xv.numel() / rows;
    const float* xp = xv.ptr<const float>();
    float* xs = cs.xsum.ptr<float>();
    std::copy(xp, xp + row, xs);
    for (int64_t r = 1; r < rows; ++r)
      for (int64_t j = 0; j < row; ++j) xs[j] += xp[r * row + j];
    KernelContext ctx{cs.node, cs.in, cs.outs, epoch, opset};
    if (cs.fast)
      cs.fast->run(ctx);
    else
      cs.def->reference(ctx);
    // The output summed over the batch and each group's channels, with the
    // channel outer and the positions inner, so the inner loop is contiguous
    // (vectorised); in double, so the check's own rounding stays far below
    // the tolerance.
    const float* y = st.out_views[0].ptr<const float>();
    const float* c = cs.out.ptr<const float>();
    auto cells = static_cast<size_t>(cs.groups * cs.inner);
    sum_.assign(cells, 0.0);
    mag_.assign(cells, 0.0);
    for (int64_t o = 0; o < cs.outer; ++o)
      for (int64_t gr = 0; gr < cs.groups; ++gr) {
        double* sum = sum_.data() + gr * cs.inner;
        double* mag = mag_.data() + gr * cs.inner;
        const float* block = y + (o * cs.groups + gr) * cs.per_group * cs.inner;
        for (int64_t k = 0; k < cs.per_group; ++k) {
          const float* line = block + k * cs.inner;
          for (int64_t i = 0; i < cs.inner; ++i) {
            double v = line[i];
            sum[i] += v;
            mag[i] += std::abs(v);
          }
        }
      }
    bool bad = false;
    for (size_t i = 0; i < cells; ++i) {
      double w = c[i];
      double tol = kRelTol * (mag_[i] + std::abs(w)) + 1e-6;
      bad |= !(std::abs(sum_[i] - w) <= tol);  // NaN fails too
    }
    if (bad) return false;
    return true;
  }

  std::map<const PlannedStep*, std::unique_ptr<Checksum>> sums_;
  int64_t bytes_ = 0;
  std::vector<double> sum_, mag_;  // per (group, position) of the checksum
};

}  // namespace

std::unique_ptr<protect::Protection> make_abft() {
  return std::make_unique<Abft>();
}

}  // namespace save::baselines
