// Einsum (family matmul). The reference parses the equation into one label
// per input dimension and loops explicitly over every label combination:
// repeated labels in one operand read its diagonal, ellipsis dims broadcast
// numpy-style, labels absent from the output are summed. Two-operand
// equations shaped like a batched matmul (at most one M, N and K label) run
// as one oneDNN matmul on strided views of the operands.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <type_traits>

#include "ops/dnnl_util.hpp"
#include "ops/interval.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

constexpr int kLetters = 52;  // a-z then A-Z; ellipsis dims get ids after these

int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

struct Term {
  std::vector<int> letters;  // label ids in order, excluding the ellipsis
  int ellipsis_at = -1;      // index into letters where "..." stands, or -1
};

struct EinsumPlan {
  std::vector<std::vector<int>> in_labels;  // per input, one label id per dim
  std::vector<int> out_labels;
  std::vector<int64_t> size;  // per label id
  Shape out_shape;
};

[[noreturn]] void bad(const Node& node, const std::string& eq, const std::string& why) {
  node_fail(node, "equation '{}': {}", eq, why);
}

Term parse_term(const std::string& s, const Node& node, const std::string& eq) {
  Term t;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.ellipsis_at >= 0) bad(node, eq, "more than one ellipsis in a term");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 3;
      continue;
    }
    const int id = letter_id(s[i]);
    if (id < 0) bad(node, eq, fmt::format("unexpected character '{}'", s[i]));
    t.letters.push_back(id);
    ++i;
  }
  return t;
}

EinsumPlan make_plan(const Node& node, const std::vector<const Shape*>& shapes) {
  const std::string eq0 = node.attrs.get_string("equation", "");
  std::string eq;
  for (char c : eq0)
    if (c != ' ') eq.push_back(c);
  SAVE_NODE_CHECK(!eq.empty(), node, "attribute 'equation' is required");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), node, eq0));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size())
    bad(node, eq0,
        fmt::format("{} operands in the equation but {} inputs", terms.size(), shapes.size()));

  EinsumPlan p;
  // Number of dims the ellipsis covers in each input; they broadcast
  // right-aligned over the widest one.
  size_t ell = 0;
  std::vector<size_t> ell_n(terms.size(), 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t rank = shapes[i]->size(), nl = terms[i].letters.size();
    if (terms[i].ellipsis_at < 0 ? rank != nl : rank < nl)
      bad(node, eq0,
          fmt::format("operand {} has {} labels but shape {}", i, nl, shape_str(*shapes[i])));
    ell_n[i] = rank - nl;
    ell = std::max(ell, ell_n[i]);
  }
  p.size.assign(kLetters + ell, -1);
  std::array<int, kLetters> count{};
  for (size_t i = 0; i < terms.size(); ++i) {
    std::vector<int>& labels = p.in_labels.emplace_back();
    const Term& t = terms[i];
    for (size_t j = 0; j <= t.letters.size(); ++j) {
      if (static_cast<int>(j) == t.ellipsis_at)
        for (size_t e = 0; e < ell_n[i]; ++e)
          labels.push_back(kLetters + static_cast<int>(ell - ell_n[i] + e));
      if (j < t.letters.size()) {
        labels.push_back(t.letters[j]);
        ++count[t.letters[j]];
      }
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      const int64_t dim = (*shapes[i])[d];
      int64_t& sz = p.size[labels[d]];
      // Size-1 dims broadcast (as numpy does); other sizes must agree.
      if (sz == -1 || sz == 1) {
        sz = dim;
      } else if (dim != 1 && dim != sz) {
        bad(node, eq0,
            fmt::format("a label has sizes {} and {} (operand {} shape {})", sz, dim, i,
                        shape_str(*shapes[i])));
      }
    }
  }

  if (arrow != std::string::npos) {
    const Term out = parse_term(eq.substr(arrow + 2), node, eq0);
    std::array<bool, kLetters> seen{};
    for (size_t j = 0; j <= out.letters.size(); ++j) {
      if (static_cast<int>(j) == out.ellipsis_at)
        for (size_t e = 0; e < ell; ++e) p.out_labels.push_back(kLetters + static_cast<int>(e));
      if (j < out.letters.size()) {
        const int id = out.letters[j];
        if (count[id] == 0) bad(node, eq0, "an output label appears in no input");
        if (seen[id]) bad(node, eq0, "an output label is repeated");
        seen[id] = true;
        p.out_labels.push_back(id);
      }
    }
  } else {
    // Implicit output: the broadcast ellipsis dims, then the labels used
    // exactly once, in alphabetical (ASCII) order.
    for (size_t e = 0; e < ell; ++e) p.out_labels.push_back(kLetters + static_cast<int>(e));
    std::vector<std::pair<char, int>> once;
    for (int id = 0; id < kLetters; ++id)
      if (count[id] == 1)
        once.emplace_back(static_cast<char>(id < 26 ? 'a' + id : 'A' + id - 26), id);
    std::sort(once.begin(), once.end());
    for (const auto& [c, id] : once) p.out_labels.push_back(id);
  }
  for (int id : p.out_labels) p.out_shape.push_back(p.size[id]);
  return p;
}

void einsum_infer(InferContext& ctx) {
  SAVE_NODE_CHECK(ctx.num_inputs() >= 1, ctx.node, "needs at least one input");
  std::vector<const Shape*> shapes;
  const DType t = ctx.input(0).dtype;
  SAVE_NODE_CHECK(t != DType::kBool, ctx.node, "bool is not an Einsum type");
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    SAVE_NODE_CHECK(ctx.input(i).dtype == t, ctx.node, "input {} is {} but input 0 is {}", i,
                    dtype_name(ctx.input(i).dtype), dtype_name(t));
    shapes.push_back(&ctx.input(i).shape);
  }
  ctx.set_output(0, t, make_plan(ctx.node, shapes).out_shape);
}

template <typename T>
void einsum_typed(const KernelContext& ctx, const EinsumPlan& p) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  // Loop labels: the output's first (so the output offset is row-major), then
  // the summed ones.
  std::vector<int> loop = p.out_labels;
  for (int id = 0; id < static_cast<int>(p.size.size()); ++id)
    if (p.size[id] >= 0 && std::find(loop.begin(), loop.end(), id) == loop.end())
      loop.push_back(id);
  const size_t nl = loop.size(), ni = p.in_labels.size();
  // stride[i][l]: how far input i moves when loop label l advances (summed
  // over its repeats, 0 where the input broadcasts or lacks the label).
  std::vector<std::vector<int64_t>> stride(ni, std::vector<int64_t>(nl, 0));
  for (size_t i = 0; i < ni; ++i) {
    const auto st = shape_strides(ctx.inputs[i].shape);
    for (size_t d = 0; d < p.in_labels[i].size(); ++d) {
      if (ctx.inputs[i].shape[d] == 1) continue;
      const size_t l = static_cast<size_t>(std::find(loop.begin(), loop.end(), p.in_labels[i][d]) -
                                           loop.begin());
      stride[i][l] += st[d];
    }
  }
  const auto out_st = shape_strides(p.out_shape);
  std::vector<Acc> acc(static_cast<size_t>(shape_numel(p.out_shape)), Acc{0});
  int64_t total = 1;
  for (int id : loop) total *= p.size[id];
  std::vector<int64_t> idx(nl, 0), off(ni, 0);
  int64_t out_off = 0;
  for (int64_t it = 0; it < total; ++it) {
    Acc prod{1};
    for (size_t i = 0; i < ni; ++i) prod *= static_cast<Acc>(ctx.inputs[i].ptr<const T>()[off[i]]);
    acc[static_cast<size_t>(out_off)] += prod;
    // Odometer step, keeping offsets incremental.
    for (size_t l = nl; l-- > 0;) {
      const int64_t sz = p.size[loop[l]];
      const bool is_out = l < p.out_labels.size();
      if (++idx[l] < sz) {
        for (size_t i = 0; i < ni; ++i) off[i] += stride[i][l];
        if (is_out) out_off += out_st[l];
        break;
      }
      for (size_t i = 0; i < ni; ++i) off[i] -= stride[i][l] * (sz - 1);
      if (is_out) out_off -= out_st[l] * (sz - 1);
      idx[l] = 0;
    }
  }
  T* y = ctx.outputs[0].ptr<T>();
  for (size_t j = 0; j < acc.size(); ++j) y[j] = static_cast<T>(acc[j]);
}

void einsum_reference(const KernelContext& ctx) {
  std::vector<Shape> shapes;
  std::vector<const Shape*> ptrs;
  for (const TensorView& v : ctx.inputs) shapes.emplace_back(v.shape.begin(), v.shape.end());
  for (const Shape& s : shapes) ptrs.push_back(&s);
  const EinsumPlan p = make_plan(ctx.node, ptrs);
  dispatch_dtype(ctx.inputs[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      node_fail(ctx.node, "bool is not an Einsum type");
    } else {
      einsum_typed<T>(ctx, p);
    }
  });
}

// Labels of a matmul-like equation, by role.
struct MatMulRoles {
  std::vector<int> batch;
  int m = -1, n = -1, k = -1;
};

std::optional<MatMulRoles> matmul_roles(const EinsumPlan& p) {
  if (p.in_labels.size() != 2) return std::nullopt;
  auto has = [](const std::vector<int>& v, int id) {
    return std::find(v.begin(), v.end(), id) != v.end();
  };
  for (const auto& labels : p.in_labels)
    for (size_t d = 0; d < labels.size(); ++d)
      if (std::find(labels.begin() + static_cast<long>(d) + 1, labels.end(), labels[d]) !=
          labels.end())
        return std::nullopt;  // a diagonal
  MatMulRoles r;
  for (int id = 0; id < static_cast<int>(p.size.size()); ++id) {
    if (p.size[id] < 0) continue;
    const bool a = has(p.in_labels[0], id), b = has(p.in_labels[1], id);
    const bool o = has(p.out_labels, id);
    int* slot = nullptr;
    if (a && b && o) {
      r.batch.push_back(id);
      continue;
    }
    if (a && b) slot = &r.k;
    if (a && !b && o) slot = &r.m;
    if (!a && b && o) slot = &r.n;
    if (slot == nullptr || *slot >= 0) return std::nullopt;  // summed alone, or a second M/N/K
    *slot = id;
  }
  if (r.batch.size() > 4) return std::nullopt;
  // The output keeps batch labels in their order; oneDNN's dst is
  // [batch..., M, N] so the batch labels follow the output's order.
  std::vector<int> ob;
  for (int id : p.out_labels)
    if (has(r.batch, id)) ob.push_back(id);
  r.batch = ob;
  return r;
}

class EinsumMatMul final : public Kernel {
 public:
  EinsumMatMul(const PrepareContext& pc, const EinsumPlan& p, const MatMulRoles& r)
      : engine_(*pc.engine), stream_(*pc.stream) {
    // View each tensor as [batch..., rows, cols]; a missing role is a dim of
    // size 1 (its stride never matters, 1 keeps oneDNN happy).
    auto view = [&](const std::vector<int>& labels, const Shape& shape, int rows, int cols) {
      const auto st = shape_strides(shape);
      const size_t nb = r.batch.size();
      dnnl::memory::dims dims(nb + 2, 1), strides(nb + 2, 1);
      for (size_t d = 0; d < labels.size(); ++d) {
        size_t slot = 0;
        if (labels[d] == rows) {
          slot = nb;
        } else if (labels[d] == cols) {
          slot = nb + 1;
        } else {
          slot = static_cast<size_t>(std::find(r.batch.begin(), r.batch.end(), labels[d]) -
                                     r.batch.begin());
        }
        dims[slot] = shape[d];
        strides[slot] = st[d];
      }
      return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
    };
    src_ = view(p.in_labels[0], pc.inputs[0]->shape, r.m, r.k);
    wei_ = view(p.in_labels[1], pc.inputs[1]->shape, r.k, r.n);
    dst_ = view(p.out_labels, p.out_shape, r.m, r.n);
    prim_ =
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_, wei_, dst_), engine_));
  }
  void run(const KernelContext& ctx) override {
    dnnl::memory a(src_, engine_, ctx.inputs[0].data), b(wei_, engine_, ctx.inputs[1].data),
        y(dst_, engine_, ctx.outputs[0].data);
    prim_.execute(stream_, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, y}});
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc src_, wei_, dst_;
  dnnl::matmul prim_;
};

std::unique_ptr<Kernel> einsum_make_fast(const PrepareContext& pc) {
  if (pc.inputs.size() != 2 || pc.inputs[0]->dtype != DType::kF32 ||
      pc.inputs[1]->dtype != DType::kF32)
    return nullptr;
  const EinsumPlan p = make_plan(pc.node, {&pc.inputs[0]->shape, &pc.inputs[1]->shape});
  for (int64_t s : p.size)
    if (s == 0) return nullptr;
  const auto roles = matmul_roles(p);
  if (!roles) return nullptr;
  try {
    return std::make_unique<EinsumMatMul>(pc, p, *roles);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Interval rule: an einsum is multilinear in its operands (at most two
// variable ones are handled).
void einsum_interval(const IntervalContext& ctx) {
  std::vector<int> factors;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) factors.push_back(static_cast<int>(i));
  multilinear(ctx, factors, -1);
}

const OpDef kEinsum{"Einsum",         einsum_infer, einsum_reference,
                    einsum_make_fast, false,        einsum_interval};

}  // namespace

void register_einsum_ops(OpRegistry& r) {
  r.add(kEinsum);
}

}  // namespace save
