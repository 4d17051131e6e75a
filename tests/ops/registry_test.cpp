// The op registry (ops/op_list.inc, ops/registry.cpp): every op is found by
// its (domain, type) key and only by it, and every op file's ops are there.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "ops/fused.hpp"
#include "ops/op.hpp"

namespace save {
namespace {

TEST(OpRegistry, EveryOpIsFoundByItsDomainAndType) {
  std::set<std::pair<std::string, std::string>> keys;
  for (const OpDef* d : all_ops()) {
    EXPECT_EQ(find_op(d->name, d->domain), d) << d->name;
    EXPECT_TRUE(keys.insert({d->domain, d->name}).second) << d->name << " listed twice";
    ASSERT_NE(d->infer, nullptr) << d->name;
    ASSERT_NE(d->reference, nullptr) << d->name;
  }
}

TEST(OpRegistry, TheDomainIsPartOfTheKey) {
  ASSERT_NE(find_op("FusedConv", kSaveDomain), nullptr);
  EXPECT_EQ(find_op("FusedConv"), nullptr) << "a fused op leaked into the ONNX domain";
  EXPECT_EQ(find_op("Conv", kSaveDomain), nullptr);
  EXPECT_EQ(find_op("Conv", "ai.onnx"), find_op("Conv"));  // ONNX's two spellings
  EXPECT_EQ(find_op("Conv", "com.microsoft"), nullptr);
  EXPECT_EQ(find_op("NoSuchOp"), nullptr);
}

TEST(OpRegistry, EveryOpFileRegisters) {
  // One op of each file that used to register through another file's
  // forward declaration, and one of each of the others.
  for (const char* op : {"Relu", "Cast", "Add", "Pow", "Conv", "ConvTranspose", "MaxPool",
                         "LayerNormalization", "MatMul", "Einsum", "Softmax", "ReduceSum", "ArgMax",
                         "Reshape", "Concat", "Pad", "DepthToSpace", "Resize"})
    EXPECT_NE(find_op(op), nullptr) << op;
}

}  // namespace
}  // namespace save
