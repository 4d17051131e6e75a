// The model checks that run before ONNX's version converter (src/import/
// validate.*), on models built here from protobuf messages.
#include "import/validate.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/error.hpp"
#include "import/onnx_import.hpp"

namespace save {
namespace {

onnx::ModelProto base(int opset) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  auto* g = m.mutable_graph();
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(1);
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  g->add_output()->set_name("y");
  return m;
}

onnx::NodeProto* add(onnx::ModelProto& m, const std::string& op,
                     std::initializer_list<std::string> in,
                     std::initializer_list<std::string> out) {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(op + std::to_string(m.graph().node_size()));
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

std::string error_of(onnx::ModelProto m) {
  try {
    import_onnx_bytes(m.SerializeAsString(), "m.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Validate, ArityAgainstTheSchemaBeforeConversion) {
  onnx::ModelProto m = base(12);  // below 13: the converter would run
  add(m, "Softmax", {}, {"y"});
  EXPECT_NE(error_of(m).find("has 0 inputs"), std::string::npos) << error_of(m);
  onnx::ModelProto two = base(13);
  add(two, "Relu", {"x", "x"}, {"y"});
  EXPECT_NE(error_of(two).find("has 2 inputs"), std::string::npos) << error_of(two);
}

TEST(Validate, RequiredInputGivenEmpty) {
  onnx::ModelProto m = base(13);
  add(m, "Add", {"", "x"}, {"y"});
  EXPECT_NE(error_of(m).find("required but empty"), std::string::npos) << error_of(m);
}

TEST(Validate, AttributeKindsAndRequiredAttributes) {
  onnx::ModelProto m = base(12);
  auto* n = add(m, "Softmax", {"x"}, {"y"});
  auto* a = n->add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1);
  EXPECT_NE(error_of(m).find("attribute 'axis' is a float"), std::string::npos) << error_of(m);
  onnx::ModelProto c = base(13);
  add(c, "Cast", {"x"}, {"y"});  // 'to' is required
  EXPECT_NE(error_of(c).find("required attribute 'to'"), std::string::npos) << error_of(c);
}

TEST(Validate, TopologicalOrder) {
  onnx::ModelProto m = base(13);
  add(m, "Neg", {"b"}, {"y"});
  add(m, "Relu", {"x"}, {"b"});
  Graph g = import_onnx_bytes(m.SerializeAsString(), "m.onnx");
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op, "Relu");
  EXPECT_EQ(g.nodes[1].op, "Neg");

  onnx::ModelProto cyc = base(13);
  add(cyc, "Add", {"x", "c"}, {"b"});
  add(cyc, "Relu", {"b"}, {"c"});
  add(cyc, "Neg", {"b"}, {"y"});
  EXPECT_NE(error_of(cyc).find("cycle"), std::string::npos) << error_of(cyc);
}

TEST(Validate, ValuesDefinedTwiceOrNever) {
  onnx::ModelProto m = base(13);
  add(m, "Relu", {"x"}, {"y"});
  add(m, "Neg", {"x"}, {"y"});
  EXPECT_NE(error_of(m).find("output 'y' is already produced by"), std::string::npos)
      << error_of(m);
  onnx::ModelProto d = base(13);
  add(d, "Relu", {"ghost"}, {"y"});
  EXPECT_NE(error_of(d).find("'ghost' is not produced"), std::string::npos) << error_of(d);
  onnx::ModelProto o = base(13);
  add(o, "Relu", {"x"}, {"z"});
  EXPECT_NE(error_of(o).find("graph output 'y' is never produced"), std::string::npos)
      << error_of(o);
}

TEST(Validate, InitializerSizesBeforeAllocation) {
  onnx::ModelProto m = base(13);
  add(m, "Add", {"x", "w"}, {"y"});
  auto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(int64_t{1} << 31);
  w->set_raw_data(std::string(40, '\0'));
  EXPECT_NE(error_of(m).find("initializer 'w': holds 40 bytes"), std::string::npos) << error_of(m);
  w->clear_dims();
  w->add_dims(4);
  w->add_dims((int64_t{1} << 62) + 4);
  EXPECT_NE(error_of(m).find("overflows"), std::string::npos) << error_of(m);
  w->clear_dims();
  w->add_dims(-10);
  EXPECT_NE(error_of(m).find("negative dimension"), std::string::npos) << error_of(m);
  w->clear_dims();
  w->add_dims(10);
  w->clear_raw_data();
  for (int i = 0; i < 3; ++i) w->add_float_data(1);
  EXPECT_NE(error_of(m).find("holds 3 values"), std::string::npos) << error_of(m);
}

}  // namespace
}  // namespace save
