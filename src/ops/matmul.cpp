// MatMul and Gemm (Einsum lives in einsum.cpp). Both fast kernels are one
// oneDNN matmul primitive: Gemm's transposes become strided memory descs,
// alpha an output scale, beta*C a bias or a binary post-op. A constant B is
// repacked once into oneDNN's preferred layout (and again whenever a hook
// rewrites constants), since weights of linear layers are always constant.
#include <algorithm>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "ops/dnnl_util.hpp"
#include "ops/fused.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

using dnnl::memory;

// Products are accumulated in double (floats) or int64 (integers) so the
// reference stays an accurate oracle.
template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// ---------------------------------------------------------------- MatMul

struct MatMulDims {
  Shape a_batch, b_batch;  // batch dims right-aligned to the output batch rank
  Shape batch;             // broadcast batch dims
  int64_t m = 0, k = 0, n = 0;
  Shape out;  // the ONNX output shape (1-D operands drop their dim)
};

MatMulDims matmul_dims(const Shape& a0, const Shape& b0, const Node& node) {
  SAVE_NODE_CHECK(!a0.empty() && !b0.empty(), node,
                  "inputs must have rank >= 1, got shapes {} and {}", shape_str(a0), shape_str(b0));
  // Numpy promotion: a 1-D A is a row vector, a 1-D B a column vector.
  Shape a = a0, b = b0;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  MatMulDims d;
  d.m = a[a.size() - 2];
  d.k = a[a.size() - 1];
  d.n = b[b.size() - 1];
  SAVE_NODE_CHECK(b[b.size() - 2] == d.k, node,
                  "inner dimensions differ: A {} x B {} (expected A[-1] == B[-2])", shape_str(a0),
                  shape_str(b0));
  Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  d.batch = broadcast_shapes(ab, bb, node);
  const size_t r = d.batch.size();
  d.a_batch.assign(r - ab.size(), 1);
  d.a_batch.insert(d.a_batch.end(), ab.begin(), ab.end());
  d.b_batch.assign(r - bb.size(), 1);
  d.b_batch.insert(d.b_batch.end(), bb.begin(), bb.end());
  d.out = d.batch;
  if (a0.size() > 1) d.out.push_back(d.m);
  if (b0.size() > 1) d.out.push_back(d.n);
  return d;
}

void check_numeric(DType t, const Node& node) {
  SAVE_NODE_CHECK(t != DType::kBool && t != DType::kUndefined, node,
                  "expected a numeric tensor, got {}", dtype_name(t));
}

void matmul_infer(InferContext& ctx) {
  const auto& a = ctx.input(0);
  const auto& b = ctx.input(1);
  check_numeric(a.dtype, ctx.node);
  SAVE_NODE_CHECK(a.dtype == b.dtype, ctx.node, "A is {} but B is {}", dtype_name(a.dtype),
                  dtype_name(b.dtype));
  ctx.set_output(0, a.dtype, matmul_dims(a.shape, b.shape, ctx.node).out);
}

// Strides (in matrices) of an operand's batch dims inside the output batch;
// 0 where the operand is broadcast.
std::vector<int64_t> batch_strides(const Shape& own) {
  std::vector<int64_t> s = shape_strides(own);
  for (size_t i = 0; i < own.size(); ++i)
    if (own[i] == 1) s[i] = 0;
  return s;
}

template <typename T>
void matmul_ref_typed(const KernelContext& ctx) {
  const TensorView& A = ctx.inputs[0];
  const TensorView& B = ctx.inputs[1];
  Shape as(A.shape.begin(), A.shape.end()), bs(B.shape.begin(), B.shape.end());
  const MatMulDims d = matmul_dims(as, bs, ctx.node);
  const int64_t m = d.m, k = d.k, n = d.n;
  const auto sa = batch_strides(d.a_batch), sb = batch_strides(d.b_batch);
  const T* pa = A.ptr<const T>();
  const T* pb = B.ptr<const T>();
  T* py = ctx.outputs[0].ptr<T>();
  const size_t r = d.batch.size();
  std::vector<int64_t> idx(r, 0);
  std::vector<Acc<T>> acc(static_cast<size_t>(n));
  const int64_t nb = shape_numel(d.batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < r; ++i) {
      ao += idx[i] * sa[i];
      bo += idx[i] * sb[i];
    }
    const T* a = pa + ao * m * k;
    const T* b = pb + bo * k * n;
    T* y = py + bi * m * n;
    for (int64_t i = 0; i < m; ++i) {
      std::fill(acc.begin(), acc.end(), Acc<T>{0});
      for (int64_t kk = 0; kk < k; ++kk) {
        const Acc<T> av = static_cast<Acc<T>>(a[i * k + kk]);
        const T* brow = b + kk * n;
        for (int64_t j = 0; j < n; ++j) acc[j] += av * static_cast<Acc<T>>(brow[j]);
      }
      for (int64_t j = 0; j < n; ++j) y[i * n + j] = static_cast<T>(acc[j]);
    }
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < d.batch[i]) break;
      idx[i] = 0;
    }
  }
}

void matmul_reference(const KernelContext& ctx) {
  dispatch_dtype(ctx.inputs[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      node_fail(ctx.node, "bool is not a MatMul type");
    } else {
      matmul_ref_typed<T>(ctx);
    }
  });
}

// ------------------------------------------------ the oneDNN matmul kernel

memory::dims row_major_strides(const memory::dims& dims) {
  memory::dims s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

memory::desc f32_desc(const memory::dims& dims, const memory::dims& strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc f32_plain(const memory::dims& dims) {
  return f32_desc(dims, row_major_strides(dims));
}

// What the factories decide; DnnlMatMul turns it into a primitive.
struct MatMulSpec {
  memory::desc src, wei, dst;  // as the engine stores them (plain or strided)
  std::optional<memory::desc> bias;
  size_t bias_input = 0;
  std::optional<memory::desc> addend;  // binary-add post-op operand (Gemm's C)
  size_t addend_input = 0;
  float out_scale = 1.f;
  std::optional<float> post_scale;        // eltwise_linear after the addend
  const Tensor* const_weights = nullptr;  // repack into the preferred layout when set
  const DnnlFusion* fusion = nullptr;     // a fused node's post-ops, appended last
};

class DnnlMatMul final : public Kernel {
 public:
  DnnlMatMul(const MatMulSpec& s, const PrepareContext& pc)
      : spec_(s), engine_(*pc.engine), stream_(*pc.stream) {
    dnnl::primitive_attr attr;
    if (s.out_scale != 1.f) attr.set_output_scales(0, {s.out_scale});
    dnnl::post_ops po;
    if (s.addend) po.append_binary(dnnl::algorithm::binary_add, *s.addend);
    if (s.post_scale) po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, *s.post_scale, 0.f);
    if (s.fusion != nullptr) {
      // Appended after Gemm's own post-ops: their positions shift by `base`.
      const int base = po.len();
      for (int i = 0; i < s.fusion->ops.len(); ++i) {
        const dnnl::primitive::kind k = s.fusion->ops.kind(i);
        if (k == dnnl::primitive::kind::eltwise) {
          float scale, alpha, beta;
          dnnl::algorithm alg;
          s.fusion->ops.get_params_eltwise(i, scale, alg, alpha, beta);
          po.append_eltwise(scale, alg, alpha, beta);
        } else if (k == dnnl::primitive::kind::binary) {
          dnnl::algorithm alg;
          memory::desc md;
          s.fusion->ops.get_params_binary(i, alg, md);
          po.append_binary(alg, md);
        } else {
          throw dnnl::error(dnnl_unimplemented, "post-op kind");
        }
      }
      for (const DnnlFusion::Binary& b : s.fusion->binaries)
        binaries_.push_back({b.index + base, b.input, b.desc});
    }
    attr.set_post_ops(po);
    const memory::desc wei_any(s.wei.dims(), memory::data_type::f32, memory::format_tag::any);
    const memory::desc& wei = s.const_weights ? wei_any : s.wei;
    auto d = s.bias ? dnnl::matmul::desc(s.src, wei, *s.bias, s.dst)
                    : dnnl::matmul::desc(s.src, wei, s.dst);
    dnnl::matmul::primitive_desc pd(d, attr, engine_);
    prim_ = dnnl::matmul(pd);
    if (s.const_weights) {
      packed_ = memory(pd.weights_desc(), engine_);
      repack(s.const_weights->data(), 0);
    }
  }

  void run(const KernelContext& ctx) override {
    std::unordered_map<int, memory> args;
    args.emplace(DNNL_ARG_SRC, memory(spec_.src, engine_, ctx.inputs[0].data));
    args.emplace(DNNL_ARG_DST, memory(spec_.dst, engine_, ctx.outputs[0].data));
    if (spec_.const_weights) {
      // Weights may have been rewritten (fault injection, repair) since the
      // last repack: the epoch says so.
      if (ctx.constants_epoch != epoch_ || ctx.inputs[1].data != packed_from_)
        repack(ctx.inputs[1].data, ctx.constants_epoch);
      args.emplace(DNNL_ARG_WEIGHTS, packed_);
    } else {
      args.emplace(DNNL_ARG_WEIGHTS, memory(spec_.wei, engine_, ctx.inputs[1].data));
    }
    if (spec_.bias)
      args.emplace(DNNL_ARG_BIAS, memory(*spec_.bias, engine_, ctx.inputs[spec_.bias_input].data));
    if (spec_.addend)
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                   memory(*spec_.addend, engine_, ctx.inputs[spec_.addend_input].data));
    for (const DnnlFusion::Binary& b : binaries_)
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(b.index) | DNNL_ARG_SRC_1,
                   memory(b.desc, engine_, ctx.inputs[b.input].data));
    prim_.execute(stream_, args);
    stream_.wait();
  }

 private:
  void repack(const void* src, uint64_t epoch) {
    memory user(spec_.wei, engine_, const_cast<void*>(src));
    if (packed_.get_desc() == spec_.wei) {
      std::memcpy(packed_.get_data_handle(), src, spec_.wei.get_size());
    } else {
      dnnl::reorder(user, packed_).execute(stream_, user, packed_);
      stream_.wait();
    }
    epoch_ = epoch;
    packed_from_ = src;
  }

  MatMulSpec spec_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::matmul prim_;
  memory packed_;
  uint64_t epoch_ = 0;
  const void* packed_from_ = nullptr;
  std::vector<DnnlFusion::Binary> binaries_;  // fused post-op operands
};

std::unique_ptr<Kernel> build_matmul(const MatMulSpec& s, const PrepareContext& pc) {
  try {
    return std::make_unique<DnnlMatMul>(s, pc);
  } catch (const dnnl::error&) {
    return nullptr;  // a case oneDNN does not implement: the reference runs
  }
}

bool all_f32(const PrepareContext& pc) {
  for (const TensorInfo* t : pc.inputs)
    if (t != nullptr && t->dtype != DType::kF32) return false;
  for (const TensorInfo* t : pc.outputs)
    if (t != nullptr && t->dtype != DType::kF32) return false;
  return true;
}

}  // namespace

std::unique_ptr<Kernel> make_matmul_kernel(const PrepareContext& pc, bool fused) {
  if (!all_f32(pc)) return nullptr;
  const MatMulDims d = matmul_dims(pc.inputs[0]->shape, pc.inputs[1]->shape, pc.node);
  if (d.m == 0 || d.n == 0 || d.k == 0 || shape_numel(d.batch) == 0) return nullptr;
  MatMulSpec s;
  const bool b_unbatched =
      std::all_of(d.b_batch.begin(), d.b_batch.end(), [](int64_t v) { return v == 1; });
  if (b_unbatched) {
    // B is one matrix: A's batch folds into M (A is row-major), one big GEMM.
    const int64_t rows = shape_numel(d.a_batch) * d.m;
    s.src = f32_plain({rows, d.k});
    s.wei = f32_plain({d.k, d.n});
    s.dst = f32_plain({rows, d.n});
  } else {
    if (d.batch.size() + 2 > 6) return nullptr;
    memory::dims a(d.a_batch.begin(), d.a_batch.end()), b(d.b_batch.begin(), d.b_batch.end()),
        y(d.batch.begin(), d.batch.end());
    a.insert(a.end(), {d.m, d.k});
    b.insert(b.end(), {d.k, d.n});
    y.insert(y.end(), {d.m, d.n});
    s.src = f32_plain(a);
    s.wei = f32_plain(b);
    s.dst = f32_plain(y);
  }
  if (pc.constants.size() > 1) s.const_weights = pc.constants[1];
  DnnlFusion fusion;
  if (fused) {
    const memory::dims dd = s.dst.dims();
    if (!make_dnnl_fusion(pc, d.out, std::vector<int64_t>(dd.begin(), dd.end()), false, fusion))
      return nullptr;
    s.fusion = &fusion;
  }
  return build_matmul(s, pc);
}

namespace {

std::unique_ptr<Kernel> matmul_make_fast(const PrepareContext& pc) {
  return make_matmul_kernel(pc, false);
}

// ------------------------------------------------------------------ Gemm

struct GemmDims {
  int64_t m, k, n;
  int64_t cm = 1, cn = 1;  // C's shape as a 2-D broadcastable to [m, n]
};

GemmDims gemm_dims(const Shape& a, const Shape& b, const Shape* c, const Node& node) {
  SAVE_NODE_CHECK(a.size() == 2 && b.size() == 2, node, "A and B must be 2-D, got shapes {} and {}",
                  shape_str(a), shape_str(b));
  const bool ta = node.attrs.get_int("transA", 0) != 0;
  const bool tb = node.attrs.get_int("transB", 0) != 0;
  GemmDims g;
  g.m = ta ? a[1] : a[0];
  g.k = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0];
  g.n = tb ? b[0] : b[1];
  SAVE_NODE_CHECK(g.k == kb, node, "inner dimensions differ: A {} (transA={}) and B {} (transB={})",
                  shape_str(a), ta, shape_str(b), tb);
  if (c != nullptr) {
    SAVE_NODE_CHECK(c->size() <= 2, node, "C must have rank <= 2, got {}", shape_str(*c));
    if (c->size() >= 1) g.cn = c->back();
    if (c->size() == 2) g.cm = (*c)[0];
    SAVE_NODE_CHECK((g.cm == 1 || g.cm == g.m) && (g.cn == 1 || g.cn == g.n), node,
                    "C {} does not broadcast to the output [{}, {}]", shape_str(*c), g.m, g.n);
  }
  return g;
}

void gemm_infer(InferContext& ctx) {
  const auto& a = ctx.input(0);
  const auto& b = ctx.input(1);
  check_numeric(a.dtype, ctx.node);
  SAVE_NODE_CHECK(a.dtype == b.dtype, ctx.node, "A is {} but B is {}", dtype_name(a.dtype),
                  dtype_name(b.dtype));
  const Shape* c = ctx.has_input(2) ? &ctx.input(2).shape : nullptr;
  if (c != nullptr)
    SAVE_NODE_CHECK(ctx.input(2).dtype == a.dtype, ctx.node, "C is {} but A is {}",
                    dtype_name(ctx.input(2).dtype), dtype_name(a.dtype));
  const GemmDims g = gemm_dims(a.shape, b.shape, c, ctx.node);
  ctx.set_output(0, a.dtype, {g.m, g.n});
}

template <typename T>
void gemm_ref_typed(const KernelContext& ctx) {
  const TensorView& A = ctx.inputs[0];
  const TensorView& B = ctx.inputs[1];
  const bool has_c = ctx.has_input(2);
  Shape as(A.shape.begin(), A.shape.end()), bs(B.shape.begin(), B.shape.end()), cs;
  if (has_c) cs.assign(ctx.inputs[2].shape.begin(), ctx.inputs[2].shape.end());
  const GemmDims g = gemm_dims(as, bs, has_c ? &cs : nullptr, ctx.node);
  const bool ta = ctx.attrs().get_int("transA", 0) != 0;
  const bool tb = ctx.attrs().get_int("transB", 0) != 0;
  const double alpha = ctx.attrs().get_float("alpha", 1.f);
  const double beta = ctx.attrs().get_float("beta", 1.f);
  const T* a = A.ptr<const T>();
  const T* b = B.ptr<const T>();
  const T* c = has_c ? ctx.inputs[2].ptr<const T>() : nullptr;
  T* y = ctx.outputs[0].ptr<T>();
  // Element strides of op(A) [m, k], op(B) [k, n] and the broadcast C.
  const int64_t a_sm = ta ? 1 : g.k, a_sk = ta ? g.m : 1;
  const int64_t b_sk = tb ? 1 : g.n, b_sn = tb ? g.k : 1;
  const int64_t c_sm = g.cm == 1 ? 0 : g.cn, c_sn = g.cn == 1 ? 0 : 1;
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      Acc<T> acc{0};
      for (int64_t kk = 0; kk < g.k; ++kk)
        acc += static_cast<Acc<T>>(a[i * a_sm + kk * a_sk]) *
               static_cast<Acc<T>>(b[kk * b_sk + j * b_sn]);
      double v = alpha * static_cast<double>(acc);
      if (c != nullptr) v += beta * static_cast<double>(c[i * c_sm + j * c_sn]);
      y[i * g.n + j] = static_cast<T>(v);
    }
  }
}

void gemm_reference(const KernelContext& ctx) {
  dispatch_dtype(ctx.inputs[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      node_fail(ctx.node, "bool is not a Gemm type");
    } else {
      gemm_ref_typed<T>(ctx);
    }
  });
}

}  // namespace

std::unique_ptr<Kernel> make_gemm_kernel(const PrepareContext& pc, bool fused) {
  if (!all_f32(pc)) return nullptr;
  const bool has_c = pc.has_input(2);
  const GemmDims g = gemm_dims(pc.inputs[0]->shape, pc.inputs[1]->shape,
                               has_c ? &pc.inputs[2]->shape : nullptr, pc.node);
  if (g.m == 0 || g.n == 0 || g.k == 0) return nullptr;
  const bool ta = pc.attrs().get_int("transA", 0) != 0;
  const bool tb = pc.attrs().get_int("transB", 0) != 0;
  const float alpha = pc.attrs().get_float("alpha", 1.f);
  const float beta = pc.attrs().get_float("beta", 1.f);
  MatMulSpec s;
  s.src = ta ? f32_desc({g.m, g.k}, {1, g.m}) : f32_plain({g.m, g.k});
  s.wei = tb ? f32_desc({g.k, g.n}, {1, g.k}) : f32_plain({g.k, g.n});
  s.dst = f32_plain({g.m, g.n});
  s.out_scale = alpha;
  if (has_c && beta != 0.f) {
    const memory::desc c = f32_plain({g.cm, g.cn});
    if (alpha == 1.f && beta == 1.f) {
      s.bias = c;
      s.bias_input = 2;
    } else {
      // y = beta * ((alpha / beta) * AB + C): output scales come before
      // post-ops, which add C and then scale by beta.
      s.out_scale = alpha / beta;
      s.addend = c;
      s.addend_input = 2;
      if (beta != 1.f) s.post_scale = beta;
    }
  }
  if (pc.constants.size() > 1) s.const_weights = pc.constants[1];
  DnnlFusion fusion;
  if (fused) {
    if (!make_dnnl_fusion(pc, {g.m, g.n}, {g.m, g.n}, false, fusion)) return nullptr;
    s.fusion = &fusion;
  }
  return build_matmul(s, pc);
}

namespace {

std::unique_ptr<Kernel> gemm_make_fast(const PrepareContext& pc) {
  return make_gemm_kernel(pc, false);
}

// Interval rules: bilinear products. One exact operand: the W+/W- split
// (center/radius form); both variable (attention): Rump's midpoint-radius
// product. Gemm's C must be exact; alpha's sign is absorbed by |radius|.
void matmul_interval(const IntervalContext& ctx) {
  const int factors[] = {0, 1};
  multilinear(ctx, factors, -1);
}
void gemm_interval(const IntervalContext& ctx) {
  const int factors[] = {0, 1};
  multilinear(ctx, factors, 2);
}

const OpDef kMatMul{"MatMul",         matmul_infer, matmul_reference,
                    matmul_make_fast, false,        matmul_interval};
const OpDef kGemm{"Gemm", gemm_infer, gemm_reference, gemm_make_fast, false, gemm_interval};

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add(kMatMul);
  r.add(kGemm);
}

}  // namespace save
