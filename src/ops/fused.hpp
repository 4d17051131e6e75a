// Fused ops (domain "ai.save", made by the fusion passes in src/passes): a
// Conv, ConvTranspose, MatMul or Gemm whose output runs through a chain of
// elementwise post-ops before it is stored, as one node and one step. The
// values between the parts never exist in memory, so they take no arena
// slot, no check and no flip.
//
// Node form: op "Fused<Base>" (FusedConv, FusedConvTranspose, FusedMatMul,
// FusedGemm), domain kSaveDomain, the base op's attributes, the base op's
// inputs (omitted optional ones as kNoId, so post-op operands start at
// base_input_count), then one extra input per binary post-op, in order.
// The post-op list is the attributes fused_ops (names), fused_alpha and
// fused_beta (one parameter pair per post-op).
//
// Semantics, shape rule, reference kernel and interval rule are those of the
// parts run one after the other (ops/fused.cpp composes the parts' own
// OpDefs); the fast kernel is the base op's oneDNN primitive with the chain
// as oneDNN post-ops.
#pragma once

#include <dnnl.hpp>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "ops/op.hpp"

namespace save {

inline constexpr const char* kSaveDomain = "ai.save";

struct PostOp {
  // Relu LeakyRelu Clip Sigmoid HardSigmoid HardSwish Swish (x * sigmoid(x))
  // Gelu GeluTanh Tanh, or the binary Add / Mul (operand: the next extra input).
  std::string op;
  // LeakyRelu: alpha; Clip: min, max; HardSigmoid: alpha, beta.
  float alpha = 0, beta = 0;
  bool binary() const { return op == "Add" || op == "Mul"; }
};

// True for the names PostOp::op may take.
bool is_post_op_name(const std::string& op);
// "Conv" -> "FusedConv"; "" for an op that has no fused form.
std::string fused_op_type(const std::string& base);
// "FusedConv" -> "Conv"; "" when `fused` is not a fused op type.
std::string base_op_type(const std::string& fused);
// Input slots the base op reserves: 3 (Conv, ConvTranspose, Gemm) or 2 (MatMul).
size_t base_input_count(const std::string& base);

std::vector<PostOp> get_post_ops(const Node& n);
void set_post_ops(Node& n, const std::vector<PostOp>& ops);

// Largest factor by which a post-op chain can stretch a change of the base
// output (product of the parts' Lipschitz constants; for Mul the largest
// |operand|, `mul_operand_max_abs` in order; infinity when unknown). The
// analysis uses it for weight tolerances of fused linear ops.
double post_op_gain(const std::vector<PostOp>& ops, const std::vector<double>& mul_operand_max_abs);

// The chain as oneDNN post-ops, for a fast kernel whose destination holds
// the node's output with dims `dst_dims` (the output shape, or its 2-D
// [rows, n] view for matmuls that fold batch into rows).
struct DnnlFusion {
  dnnl::post_ops ops;
  struct Binary {
    int index;     // position in `ops`
    size_t input;  // node input of the operand
    dnnl::memory::desc desc;
  };
  std::vector<Binary> binaries;
  // A full-size Add operand realised as oneDNN's `sum` post-op (the
  // destination is pre-filled with it): the jit convolutions keep their fast
  // path with sum but not with a full-size binary operand.
  int sum_input = -1;
};
// False when a post-op has no oneDNN form for these shapes (the operand
// would broadcast the output larger, or is not float32): the reference
// kernel runs then. `base_out` is the base op's output shape.
bool make_dnnl_fusion(const PrepareContext& ctx, const Shape& base_out,
                      const std::vector<int64_t>& dst_dims, bool allow_sum, DnnlFusion& f);

// The oneDNN kernels of the base ops (conv.cpp, conv_transpose.cpp,
// matmul.cpp). With `fused`, ctx.node is a fused node and its post-ops are
// appended (make_dnnl_fusion); nullptr when oneDNN cannot run it.
std::unique_ptr<Kernel> make_conv_kernel(const PrepareContext& ctx, bool fused);
std::unique_ptr<Kernel> make_deconv_kernel(const PrepareContext& ctx, bool fused);
std::unique_ptr<Kernel> make_matmul_kernel(const PrepareContext& ctx, bool fused);
std::unique_ptr<Kernel> make_gemm_kernel(const PrepareContext& ctx, bool fused);

}  // namespace save
