// Registry-driven check of the fast kernels: every op in the registry
// (ops/op_list.inc) that has a fast-kernel factory must have a case below,
// and every case runs one small node through the fast kernel and the
// reference and compares them. A new op with a fast kernel and no case here
// fails `EveryFastOpHasACase`, so no oneDNN path goes unchecked against its
// oracle. The per-family tests (tests/ops/*_test.cpp) hold the thorough
// cases (attributes, broadcasts, edge values); this one is the floor.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "exec/single_node.hpp"
#include "op_test_util.hpp"
#include "ops/fused.hpp"
#include "ops/op.hpp"

namespace save {
namespace {

using test::make_node;
using test::random_f32;

struct Case {
  Node node;
  std::vector<Tensor> inputs;
  double rtol = 1e-4, atol = 1e-5;
  int64_t opset = 17;
};

// Large enough that every size threshold in the fast factories is passed
// (the cheapest eltwise ops take oneDNN from 2^16 elements).
const Shape kBig{4, 16, 32, 32};

Node with(const std::string& op, std::initializer_list<std::pair<const char*, AttrValue>> attrs) {
  Node n = make_node(op);
  for (const auto& [k, v] : attrs) n.attrs.set(k, v);
  return n;
}

Case unary(const std::string& op, float lo, float hi, Attributes a = {}) {
  return {make_node(op, std::move(a)), {random_f32(kBig, 1, lo, hi)}};
}

Case binary(const std::string& op) {
  return {make_node(op), {random_f32(kBig, 2, -1, 1), random_f32(kBig, 3, 0.5f, 2)}};
}

Case conv(const std::string& op) {
  Node n = with(op, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  return {n,
          {random_f32({2, 3, 9, 9}, 4), random_f32({8, 3, 3, 3}, 5), random_f32({8}, 6)},
          1e-4,
          1e-4};
}

Case conv_transpose(const std::string& op) {
  Node n = with(op, {{"strides", std::vector<int64_t>{2, 2}}});
  return {n,
          {random_f32({2, 3, 5, 5}, 4), random_f32({3, 4, 3, 3}, 5), random_f32({4}, 6)},
          1e-4,
          1e-4};
}

Case matmul(const std::string& op) {
  return {make_node(op), {random_f32({2, 5, 16}, 7), random_f32({16, 8}, 8)}, 1e-4, 1e-4};
}

Case gemm(const std::string& op) {
  Node n = with(op, {{"transB", int64_t{1}}});
  return {n, {random_f32({5, 16}, 7), random_f32({8, 16}, 8), random_f32({8}, 9)}, 1e-4, 1e-4};
}

// A fused node: the base case plus a Relu and a per-channel / per-column Add.
Case fused(Case base, const Shape& operand) {
  base.node.op = fused_op_type(base.node.op);
  base.node.domain = kSaveDomain;
  set_post_ops(base.node, {{"Relu"}, {"Add"}});
  if (base.inputs.size() < base_input_count(base_op_type(base.node.op)))
    base.inputs.resize(base_input_count(base_op_type(base.node.op)));  // omitted bias
  base.inputs.push_back(random_f32(operand, 10));
  // The fused rules read the node's input slots (omitted ones are kNoId).
  base.node.inputs.clear();
  for (size_t i = 0; i < base.inputs.size(); ++i)
    base.node.inputs.push_back(base.inputs[i].defined() ? static_cast<ValueId>(i) : kNoId);
  base.node.outputs = {static_cast<ValueId>(base.inputs.size())};
  return base;
}

Case reduce(const std::string& op, float lo = -1, float hi = 1) {
  Node n = with(op, {{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t{1}}});
  // ReduceSum takes its axes as an input from opset 13.
  if (op == "ReduceSum")
    return {make_node(op),
            {random_f32(kBig, 11, lo, hi), Tensor::from<int64_t>({2}, std::vector<int64_t>{2, 3})}};
  return {n, {random_f32(kBig, 11, lo, hi)}, 1e-4, 1e-4, 17};
}

Case norm_case(const std::string& op) {
  if (op == "BatchNormalization")
    return {make_node(op),
            {random_f32({2, 8, 6, 6}, 12), random_f32({8}, 13), random_f32({8}, 14),
             random_f32({8}, 15), random_f32({8}, 16, 0.5f, 2)},
            1e-4,
            1e-4};
  if (op == "InstanceNormalization")
    return {make_node(op),
            {random_f32({2, 8, 6, 6}, 12), random_f32({8}, 13), random_f32({8}, 14)},
            1e-4,
            1e-4};
  // LayerNormalization over the last axis.
  return {with(op, {{"axis", int64_t{-1}}}),
          {random_f32({4, 10, 32}, 12), random_f32({32}, 13), random_f32({32}, 14)},
          1e-4,
          1e-4};
}

Case pool(const std::string& op) {
  Node n = with(op, {{"kernel_shape", std::vector<int64_t>{3, 3}},
                     {"strides", std::vector<int64_t>{2, 2}},
                     {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  if (op.rfind("Global", 0) == 0) n = make_node(op);
  if (op == "LRN") n = with(op, {{"size", int64_t{3}}});
  return {n, {random_f32({2, 8, 9, 9}, 17)}};
}

// Every case, keyed by (domain, op).
std::map<std::pair<std::string, std::string>, std::vector<Case>> cases() {
  std::map<std::pair<std::string, std::string>, std::vector<Case>> m;
  auto add = [&](Case c) { m[{c.node.domain, c.node.op}].push_back(std::move(c)); };
  for (const char* op : {"Abs", "Neg", "Exp", "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Selu",
                         "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Gelu", "Erf"})
    add(unary(op, -3, 3));
  add(unary("Log", 0.1f, 4));
  add(unary("Sqrt", 0.1f, 4));
  add({make_node("Clip"), {random_f32(kBig, 1, -3, 3), Tensor::scalar(-1.f), Tensor::scalar(2.f)}});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"}) add(binary(op));
  add({make_node("Pow"), {random_f32(kBig, 2, 0.5f, 2), Tensor::scalar(3.f)}});
  add({make_node("PRelu"), {random_f32(kBig, 2, -1, 1), random_f32({16, 1, 1}, 3)}});
  {
    Tensor cond(DType::kBool, kBig);
    auto* c = cond.ptr<bool>();
    for (int64_t i = 0; i < cond.numel(); ++i) c[i] = (i * 7919) % 3 == 0;
    add({make_node("Where"), {cond, random_f32(kBig, 2), random_f32(kBig, 3)}});
  }
  add(conv("Conv"));
  add(conv_transpose("ConvTranspose"));
  add(matmul("MatMul"));
  add(gemm("Gemm"));
  add({with("Einsum", {{"equation", std::string("bij,bjk->bik")}}),
       {random_f32({3, 5, 16}, 7), random_f32({3, 16, 8}, 8)},
       1e-4,
       1e-4});
  add(fused(conv("Conv"), {1, 8, 1, 1}));
  add(fused(conv_transpose("ConvTranspose"), {1, 4, 1, 1}));
  add(fused(matmul("MatMul"), {8}));
  add(fused(gemm("Gemm"), {8}));
  for (const char* op : {"BatchNormalization", "InstanceNormalization", "LayerNormalization"})
    add(norm_case(op));
  for (const char* op : {"AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool", "LRN"})
    add(pool(op));
  for (const char* op :
       {"ReduceMax", "ReduceMin", "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2"})
    add(reduce(op));
  add(reduce("ReduceProd", 0.9f, 1.1f));
  add({with("Softmax", {{"axis", int64_t{-1}}}), {random_f32({8, 10, 64}, 18, -4, 4)}});
  add({with("LogSoftmax", {{"axis", int64_t{-1}}}), {random_f32({8, 10, 64}, 18, -4, 4)}});
  add({with("Transpose", {{"perm", std::vector<int64_t>{0, 2, 3, 1}}}), {random_f32(kBig, 19)}});
  add({with("DepthToSpace", {{"blocksize", int64_t{2}}}), {random_f32({2, 8, 5, 5}, 20)}});
  add({with("SpaceToDepth", {{"blocksize", int64_t{2}}}), {random_f32({2, 2, 6, 6}, 20)}});
  add({with("Resize", {{"mode", std::string("linear")}}),
       {random_f32({2, 3, 6, 6}, 21), Tensor(),
        Tensor::from<float>({4}, std::vector<float>{1, 1, 2, 2})}});
  add({with("Upsample", {{"mode", std::string("nearest")}}),
       {random_f32({2, 3, 6, 6}, 21), Tensor::from<float>({4}, std::vector<float>{1, 1, 2, 2})},
       1e-6,
       0,
       9});
  return m;
}

TEST(FastKernels, EveryFastOpHasACase) {
  const auto all = cases();
  for (const OpDef* d : all_ops()) {
    if (d->make_fast == nullptr) continue;
    EXPECT_TRUE(all.count({d->domain, d->name}))
        << "op '" << d->name << "' (domain '" << d->domain
        << "') has a fast kernel but no fast-vs-reference case in " << __FILE__;
  }
  // A case for an op that is not registered, or that has no fast kernel, is
  // a stale entry.
  for (const auto& [key, list] : all) {
    const OpDef* d = find_op(key.second, key.first);
    ASSERT_NE(d, nullptr) << key.second;
    EXPECT_NE(d->make_fast, nullptr) << key.second << " has no fast kernel";
  }
}

TEST(FastKernels, FastMatchesReference) {
  for (const auto& [key, list] : cases()) {
    for (const Case& c : list) {
      SCOPED_TRACE(key.first.empty() ? key.second : key.first + "." + key.second);
      auto fast = run_single_node(c.node, c.inputs, KernelChoice::kFast, c.opset);
      EXPECT_TRUE(fast.used_fast) << "the fast kernel declined this case";
      auto ref = run_single_node(c.node, c.inputs, KernelChoice::kReference, c.opset);
      ASSERT_EQ(fast.outputs.size(), ref.outputs.size());
      for (size_t i = 0; i < ref.outputs.size(); ++i)
        test::expect_close(fast.outputs[i], ref.outputs[i], c.rtol, c.atol);
    }
  }
}

}  // namespace
}  // namespace save
