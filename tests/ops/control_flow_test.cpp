// If, Loop and Scan (src/ops/control_flow.cpp) on models built here from
// protobuf messages: import of subgraphs (outer-scope reads become node
// inputs; a bad subgraph is one clear error), execution against values
// computed by hand, and the interval rules' soundness on random inputs
// inside the box (If with an unknown condition too).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <random>

#include "core/error.hpp"
#include "exec/session.hpp"
#include "exec/single_node.hpp"
#include "import/onnx_import.hpp"
#include "ops/interval.hpp"
#include "ops/op_test_util.hpp"

namespace save {
namespace {

using test::random_f32;
using test::vals;

void set_type(onnx::ValueInfoProto* v, const std::string& name, int elem,
              std::initializer_list<int64_t> dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

onnx::NodeProto* add(onnx::GraphProto* g, const std::string& op,
                     std::initializer_list<std::string> in, std::initializer_list<std::string> out,
                     const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + std::to_string(g->node_size()) : name);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

void add_init(onnx::GraphProto* g, const std::string& name, std::vector<float> v,
              std::initializer_list<int64_t> dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float f : v) t->add_float_data(f);
}

onnx::GraphProto* add_graph_attr(onnx::NodeProto* n, const std::string& name) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return a->mutable_g();
}

onnx::ModelProto model(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

Graph import(const onnx::ModelProto& m) {
  return import_onnx_bytes(m.SerializeAsString(), "m.onnx");
}

std::string error_of(const onnx::ModelProto& m) {
  try {
    import(m);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// If(c) then: x + w (x a graph input, w an outer initializer: both read by
// name from the enclosing graph) else: x * k (k the branch's own constant 2).
onnx::ModelProto if_model() {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "c", onnx::TensorProto::BOOL, {});
  set_type(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 3});
  set_type(g->add_output(), "y", onnx::TensorProto::FLOAT, {2, 3});
  add_init(g, "w", {1, 2, 3, 4, 5, 6}, {2, 3});
  auto* n = add(g, "If", {"c"}, {"y"}, "branch");
  auto* t = add_graph_attr(n, "then_branch");
  add(t, "Add", {"x", "w"}, {"t_out"});
  set_type(t->add_output(), "t_out", onnx::TensorProto::FLOAT, {2, 3});
  auto* e = add_graph_attr(n, "else_branch");
  add_init(e, "k", {2}, {});
  add(e, "Mul", {"x", "k"}, {"e_out"});
  set_type(e->add_output(), "e_out", onnx::TensorProto::FLOAT, {2, 3});
  return m;
}

Tensor bool_scalar(bool v) {
  return Tensor::scalar<bool>(v);
}

TEST(ControlFlowImport, OuterReadsBecomeNodeInputs) {
  Graph g = import(if_model());
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  // c, then the captured x and w (once each, whichever branch reads them).
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(g.values[n.inputs[1]].name, "x");
  EXPECT_EQ(g.values[n.inputs[2]].name, "w");
  const Subgraph* t = n.attrs.get_graph("then_branch");
  const Subgraph* e = n.attrs.get_graph("else_branch");
  ASSERT_NE(t, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(t->num_formal, 0u);
  EXPECT_EQ(t->capture_slots, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(e->capture_slots, (std::vector<size_t>{1}));
  // The else branch's own constant stays inside it.
  EXPECT_TRUE(e->graph.values[e->graph.find_value("k")].constant.has_value());
  EXPECT_EQ(e->graph.inputs.size(), 1u);
  // The outer x is consumed by the If: liveness and ordering see it.
  EXPECT_EQ(g.values[g.find_value("x")].consumers.size(), 1u);
}

TEST(ControlFlowImport, OuterValueProducedLaterInTheFileIsOrderedFirst) {
  onnx::ModelProto m = if_model();
  auto* g = m.mutable_graph();
  // x2 = Relu(x) listed after the If that reads it inside a branch.
  g->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_node(0)->set_input(0, "x2");
  add(g, "Relu", {"x"}, {"x2"}, "late_relu");
  Graph ig = import(m);
  ASSERT_EQ(ig.nodes.size(), 2u);
  EXPECT_EQ(ig.nodes[0].op, "Relu");
  EXPECT_EQ(ig.nodes[1].op, "If");
}

TEST(ControlFlowImport, BadSubgraphIsOneClearError) {
  onnx::ModelProto m = if_model();
  m.mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g()->mutable_node(0)->set_input(
      0, "nowhere");
  const std::string err = error_of(m);
  EXPECT_NE(err.find("node 'branch' (If) subgraph 'else_branch'"), std::string::npos) << err;
  EXPECT_NE(err.find("input 'nowhere' is not produced"), std::string::npos) << err;
  EXPECT_NE(err.find("enclosing graph"), std::string::npos) << err;

  onnx::ModelProto twice = if_model();
  auto* t = twice.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  add(t, "Relu", {"x"}, {"t_out"}, "again");
  const std::string err2 = error_of(twice);
  EXPECT_NE(err2.find("subgraph 'then_branch'"), std::string::npos) << err2;
  EXPECT_NE(err2.find("output 't_out' is already"), std::string::npos) << err2;

  onnx::ModelProto missing = if_model();
  missing.mutable_graph()->mutable_node(0)->mutable_attribute()->RemoveLast();
  EXPECT_NE(error_of(missing).find("required attribute 'else_branch' is missing"),
            std::string::npos)
      << error_of(missing);
}

TEST(ControlFlowIf, RunsTheChosenBranch) {
  Session s(import(if_model()));
  Tensor x = random_f32({2, 3}, 1);
  for (bool c : {true, false}) {
    std::vector<Tensor> out = s.run({bool_scalar(c), x});
    ASSERT_EQ(out.size(), 1u);
    auto y = vals<float>(out[0]);
    auto xv = vals<float>(x);
    for (size_t i = 0; i < 6; ++i)
      EXPECT_FLOAT_EQ(y[i], c ? xv[i] + static_cast<float>(i + 1) : 2 * xv[i]) << i;
  }
}

TEST(ControlFlowIf, BranchesOfDifferentShapesNeedAConstantCondition) {
  onnx::ModelProto m = if_model();
  // The else branch now gives [1, 2, 3]: fine for a constant condition only.
  auto* e = m.mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
  auto* k = e->mutable_initializer(0);
  for (int64_t d : {1, 1, 3}) k->add_dims(d);
  k->clear_float_data();
  for (int i = 0; i < 3; ++i) k->add_float_data(2);
  Graph g = import(m);
  Tensor x = random_f32({2, 3}, 2);
  Tensor w = g.values[g.find_value("w")].constant->clone();
  // Condition known only at run time: one clear error naming the node.
  try {
    run_single_node(g.nodes[0], {bool_scalar(true), x, w}, KernelChoice::kReference, 13, false);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("node 'branch' (If)"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("branches must agree"), std::string::npos) << err.what();
  }
}

// Loop(M, cond, y0) with body: y = y + x (x outer), scan = y, cond passed
// through. Or, with early_exit, cond_out = iter < 1 (two iterations).
onnx::ModelProto loop_model(bool early_exit, bool scan) {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "M", onnx::TensorProto::INT64, {});
  set_type(g->add_input(), "cond", onnx::TensorProto::BOOL, {});
  set_type(g->add_input(), "y0", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_output(), "y", onnx::TensorProto::FLOAT, {2, 2});
  auto* n = add(g, "Loop", {"M", "cond", "y0"}, {"y"}, "loop");
  if (scan) {
    n->add_output("ys");
    g->add_output()->set_name("ys");
  }
  auto* b = add_graph_attr(n, "body");
  set_type(b->add_input(), "i", onnx::TensorProto::INT64, {});
  set_type(b->add_input(), "c_in", onnx::TensorProto::BOOL, {});
  set_type(b->add_input(), "y_in", onnx::TensorProto::FLOAT, {2, 2});
  add(b, "Add", {"y_in", "x"}, {"y_out"});
  if (early_exit) {
    auto* one = b->add_initializer();
    one->set_name("one");
    one->set_data_type(onnx::TensorProto::INT64);
    one->add_int64_data(1);
    add(b, "Less", {"i", "one"}, {"c_out"});
  } else {
    add(b, "Identity", {"c_in"}, {"c_out"});
  }
  b->add_output()->set_name("c_out");
  b->add_output()->set_name("y_out");
  if (scan) {
    add(b, "Identity", {"y_out"}, {"s_out"});
    b->add_output()->set_name("s_out");
  }
  return m;
}

TEST(ControlFlowLoop, CarriesAndScansByHand) {
  Session s(import(loop_model(false, true)));
  Tensor y0 = random_f32({2, 2}, 3), x = random_f32({2, 2}, 4);
  std::vector<Tensor> out = s.run({Tensor::scalar<int64_t>(3), bool_scalar(true), y0, x});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[1].shape(), (Shape{3, 2, 2}));
  auto y = vals<float>(out[0]), ys = vals<float>(out[1]), a = vals<float>(y0), b = vals<float>(x);
  for (size_t e = 0; e < 4; ++e) {
    float acc = a[e];
    for (size_t t = 0; t < 3; ++t) {
      acc += b[e];
      EXPECT_FLOAT_EQ(ys[t * 4 + e], acc);
    }
    EXPECT_FLOAT_EQ(y[e], acc);
  }
  // cond false at the start: no iteration, y = y0, an empty scan.
  out = s.run({Tensor::scalar<int64_t>(3), bool_scalar(false), y0, x});
  EXPECT_EQ(vals<float>(out[0]), vals<float>(y0));
  EXPECT_EQ(out[1].shape(), (Shape{0, 2, 2}));
}

TEST(ControlFlowLoop, BodyConditionEndsItEarly) {
  Session s(import(loop_model(true, false)));
  Tensor y0 = random_f32({2, 2}, 5), x = random_f32({2, 2}, 6);
  std::vector<Tensor> out = s.run({Tensor::scalar<int64_t>(10), bool_scalar(true), y0, x});
  auto y = vals<float>(out[0]), a = vals<float>(y0), b = vals<float>(x);
  for (size_t e = 0; e < 4; ++e) EXPECT_FLOAT_EQ(y[e], (a[e] + b[e]) + b[e]) << e;
}

// A subgraph inside a subgraph reading the outermost graph: Loop(M, "", y0)
// whose body holds If(flag) then: y + x else: y - x, with flag and x inputs
// of the model and y the body's carried value.
TEST(ControlFlowLoop, NestedSubgraphReadsTheOutermostGraph) {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "M", onnx::TensorProto::INT64, {});
  set_type(g->add_input(), "flag", onnx::TensorProto::BOOL, {});
  set_type(g->add_input(), "y0", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_output(), "y", onnx::TensorProto::FLOAT, {2, 2});
  auto* n = add(g, "Loop", {"M", "", "y0"}, {"y"}, "loop");
  auto* b = add_graph_attr(n, "body");
  set_type(b->add_input(), "i", onnx::TensorProto::INT64, {});
  set_type(b->add_input(), "c_in", onnx::TensorProto::BOOL, {});
  set_type(b->add_input(), "y_in", onnx::TensorProto::FLOAT, {2, 2});
  add(b, "Identity", {"c_in"}, {"c_out"});
  auto* f = add(b, "If", {"flag"}, {"y_out"}, "inner_if");
  add(add_graph_attr(f, "then_branch"), "Add", {"y_in", "x"}, {"t"});
  f->mutable_attribute(0)->mutable_g()->add_output()->set_name("t");
  add(add_graph_attr(f, "else_branch"), "Sub", {"y_in", "x"}, {"e"});
  f->mutable_attribute(1)->mutable_g()->add_output()->set_name("e");
  b->add_output()->set_name("c_out");
  b->add_output()->set_name("y_out");
  Graph ig = import(m);
  // The Loop receives flag and x (read two levels down) as inputs 3 and 4.
  const Node& loop = ig.nodes[0];
  ASSERT_EQ(loop.inputs.size(), 5u);
  EXPECT_EQ(loop.inputs[1], kNoId);
  EXPECT_EQ(ig.values[loop.inputs[3]].name, "flag");
  EXPECT_EQ(ig.values[loop.inputs[4]].name, "x");
  Session s(std::move(ig));
  Tensor y0 = random_f32({2, 2}, 13), x = random_f32({2, 2}, 14);
  for (bool flag : {true, false}) {
    std::vector<Tensor> out = s.run({Tensor::scalar<int64_t>(3), bool_scalar(flag), y0, x});
    auto y = vals<float>(out[0]), a = vals<float>(y0), d = vals<float>(x);
    for (size_t e = 0; e < 4; ++e) {
      float acc = a[e];
      for (int t = 0; t < 3; ++t) acc = flag ? acc + d[e] : acc - d[e];
      EXPECT_FLOAT_EQ(y[e], acc) << e;
    }
  }
}

TEST(ControlFlowLoop, EndlessLoopIsAnErrorNotAHang) {
  // No M, a condition passed through as true: ONNX's endless loop.
  onnx::ModelProto m = loop_model(false, false);
  m.mutable_graph()->mutable_node(0)->set_input(0, "");
  Session s(import(m));
  Tensor y0 = random_f32({2, 2}, 15), x = test::filled_f32({2, 2}, 0.f);
  try {
    s.run({Tensor::scalar<int64_t>(0), bool_scalar(true), y0, x});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'loop' (Loop): ran 1000000 iterations"),
              std::string::npos)
        << e.what();
  }
}

// Scan(s0, xs) with body: s = s + x_t, out_t = s * k (k outer), the scan
// input read in reverse.
onnx::ModelProto scan_model() {
  onnx::ModelProto m = model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "s0", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_input(), "xs", onnx::TensorProto::FLOAT, {4, 2, 2});
  set_type(g->add_output(), "s", onnx::TensorProto::FLOAT, {2, 2});
  set_type(g->add_output(), "outs", onnx::TensorProto::FLOAT, {4, 2, 2});
  add_init(g, "k", {0.5f}, {});
  auto* n = add(g, "Scan", {"s0", "xs"}, {"s", "outs"}, "scan");
  auto* a = n->add_attribute();
  a->set_name("num_scan_inputs");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  auto* d = n->add_attribute();
  d->set_name("scan_input_directions");
  d->set_type(onnx::AttributeProto::INTS);
  d->add_ints(1);
  auto* b = add_graph_attr(n, "body");
  set_type(b->add_input(), "s_in", onnx::TensorProto::FLOAT, {2, 2});
  set_type(b->add_input(), "x_t", onnx::TensorProto::FLOAT, {2, 2});
  add(b, "Add", {"s_in", "x_t"}, {"s_out"});
  add(b, "Mul", {"s_out", "k"}, {"o_t"});
  b->add_output()->set_name("s_out");
  b->add_output()->set_name("o_t");
  return m;
}

TEST(ControlFlowScan, ReverseScanByHand) {
  Session s(import(scan_model()));
  Tensor s0 = random_f32({2, 2}, 7), xs = random_f32({4, 2, 2}, 8);
  std::vector<Tensor> out = s.run({s0, xs});
  auto st = vals<float>(out[0]), o = vals<float>(out[1]), a = vals<float>(s0), x = vals<float>(xs);
  for (size_t e = 0; e < 4; ++e) {
    float acc = a[e];
    // Iteration j reads slice 3 - j (reverse input); outputs stay in
    // iteration order (forward output direction).
    for (size_t j = 0; j < 4; ++j) {
      acc += x[(3 - j) * 4 + e];
      EXPECT_FLOAT_EQ(o[j * 4 + e], acc * 0.5f) << j;
    }
    EXPECT_FLOAT_EQ(st[e], acc);
  }
}

// ---- interval rules: random points inside the box stay inside ----

Bounds box(const Tensor& lo, const Tensor& hi) {
  return Bounds{true, lo, hi};
}

void expect_inside(const Tensor& v, const Bounds& b, const std::string& what) {
  ASSERT_TRUE(b.known) << what;
  auto x = vals<float>(v), lo = vals<float>(b.lo), hi = vals<float>(b.hi);
  ASSERT_EQ(x.size(), lo.size()) << what;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(lo[i], x[i]) << what << " element " << i;
    EXPECT_GE(hi[i], x[i]) << what << " element " << i;
  }
}

// Node inputs of the imported graph's first node, as tensors: runtime
// inputs from `given` (by name), constants from the graph.
std::vector<Tensor> node_inputs(const Graph& g, const std::map<std::string, Tensor>& given) {
  std::vector<Tensor> in;
  for (ValueId v : g.nodes[0].inputs) {
    const Value& val = g.values[v];
    in.push_back(val.constant ? *val.constant : given.at(val.name));
  }
  return in;
}

TEST(ControlFlowInterval, IfUnknownConditionIsTheHullOfBothBranches) {
  Graph g = import(if_model());
  const Node& n = g.nodes[0];
  const OpDef* def = find_op("If");
  Tensor lo = test::filled_f32({2, 3}, -1.f), hi = test::filled_f32({2, 3}, 0.5f);
  Tensor w = *g.values[g.find_value("w")].constant;
  const std::vector<TensorInfo> outs{{DType::kF32, {2, 3}}};
  Bounds unknown_cond = Bounds::unbounded({DType::kBool, {}});
  std::vector<Bounds> b =
      eval_interval(*def, n, 13, {unknown_cond, box(lo, hi), Bounds::point(w)}, outs, {});
  ASSERT_EQ(b.size(), 1u);
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(-1.f, 0.5f);
  for (int trial = 0; trial < 200; ++trial) {
    Tensor x(DType::kF32, {2, 3});
    for (float& e : x.view().values<float>()) e = u(gen);
    for (bool c : {true, false}) {
      Tensor y = run_single_node(n, node_inputs(g, {{"c", bool_scalar(c)}, {"x", x}}),
                                 KernelChoice::kReference, 13, false)
                     .outputs[0];
      expect_inside(y, b[0], c ? "then" : "else");
    }
  }
  // A known condition: that branch only, strictly inside the hull where
  // the other branch reaches further (x * 2 reaches -2; x + w does not).
  std::vector<Bounds> t = eval_interval(
      *def, n, 13, {Bounds::point(bool_scalar(true)), box(lo, hi), Bounds::point(w)}, outs, {});
  EXPECT_GT(vals<float>(t[0].lo)[0], vals<float>(b[0].lo)[0]);
  EXPECT_NEAR(vals<float>(b[0].lo)[0], -2.f, 1e-3);
  EXPECT_NEAR(vals<float>(t[0].lo)[0], 0.f, 1e-3);  // -1 + w[0] = 0
}

TEST(ControlFlowInterval, LoopWithKnownAndUnknownTripCountsIsSound) {
  Graph g = import(loop_model(false, true));
  const Node& n = g.nodes[0];
  const OpDef* def = find_op("Loop");
  Tensor lo = test::filled_f32({2, 2}, 0.f), hi = test::filled_f32({2, 2}, 1.f);
  Tensor xlo = test::filled_f32({2, 2}, -0.5f), xhi = test::filled_f32({2, 2}, 0.25f);
  const std::vector<TensorInfo> outs{{DType::kF32, {2, 2}}, {DType::kF32, {3, 2, 2}}};
  // cond unknown: the loop may stop at any point, the hull covers each.
  std::vector<Bounds> b =
      eval_interval(*def, n, 13,
                    {Bounds::point(Tensor::scalar<int64_t>(3)),
                     Bounds::unbounded({DType::kBool, {}}), box(lo, hi), box(xlo, xhi)},
                    outs, {});
  ASSERT_TRUE(b[0].known);
  ASSERT_TRUE(b[1].known);
  std::mt19937 gen(10);
  std::uniform_real_distribution<float> u(0.f, 1.f), v(-0.5f, 0.25f);
  for (int trial = 0; trial < 100; ++trial) {
    Tensor y0(DType::kF32, {2, 2}), x(DType::kF32, {2, 2});
    for (float& e : y0.view().values<float>()) e = u(gen);
    for (float& e : x.view().values<float>()) e = v(gen);
    for (bool c : {true, false}) {
      auto r = run_single_node(
          n,
          node_inputs(
              g,
              {{"M", Tensor::scalar<int64_t>(3)}, {"cond", bool_scalar(c)}, {"y0", y0}, {"x", x}}),
          KernelChoice::kReference, 13, true, 2);
      expect_inside(r.outputs[0], b[0], "carried");
      if (c) expect_inside(r.outputs[1], b[1], "scan");
    }
  }
  // y + x has no fixpoint: an unknown trip count gives unbounded (sound).
  Graph g2 = import(loop_model(true, false));
  std::vector<Bounds> u2 =
      eval_interval(*def, g2.nodes[0], 13,
                    {Bounds::unbounded({DType::kI64, {}}), Bounds::point(bool_scalar(true)),
                     box(lo, hi), box(xlo, xhi)},
                    {{DType::kF32, {2, 2}}}, {});
  ASSERT_TRUE(u2[0].known);
  EXPECT_TRUE(std::isinf(vals<float>(u2[0].lo)[0]));
}

TEST(ControlFlowInterval, LoopFixpointBoundsAnyTripCount) {
  // Body y = Clip(y + x, 0, 1): the bounds stop growing, so they hold for
  // every trip count, also ones the analysis never tried.
  onnx::ModelProto m = loop_model(false, false);
  auto* b = m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  b->mutable_node(0)->set_output(0, "sum");
  add_init(b, "zero", {0}, {});
  add_init(b, "one_f", {1}, {});
  add(b, "Clip", {"sum", "zero", "one_f"}, {"y_out"});
  Graph g = import(m);
  const Node& n = g.nodes[0];
  Tensor lo = test::filled_f32({2, 2}, 0.2f), hi = test::filled_f32({2, 2}, 0.4f);
  Tensor xlo = test::filled_f32({2, 2}, -0.1f), xhi = test::filled_f32({2, 2}, 0.3f);
  std::vector<Bounds> bd =
      eval_interval(*find_op("Loop"), n, 13,
                    {Bounds::unbounded({DType::kI64, {}}), Bounds::point(bool_scalar(true)),
                     box(lo, hi), box(xlo, xhi)},
                    {{DType::kF32, {2, 2}}}, {});
  ASSERT_TRUE(bd[0].known);
  EXPECT_LT(vals<float>(bd[0].hi)[0], 1.01f);
  EXPECT_GT(vals<float>(bd[0].lo)[0], -0.01f);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(0.2f, 0.4f), v(-0.1f, 0.3f);
  for (int trial = 0; trial < 50; ++trial) {
    Tensor y0(DType::kF32, {2, 2}), x(DType::kF32, {2, 2});
    for (float& e : y0.view().values<float>()) e = u(gen);
    for (float& e : x.view().values<float>()) e = v(gen);
    const int64_t trips = trial % 12;
    auto r = run_single_node(n,
                             node_inputs(g, {{"M", Tensor::scalar<int64_t>(trips)},
                                             {"cond", bool_scalar(true)},
                                             {"y0", y0},
                                             {"x", x}}),
                             KernelChoice::kReference, 13, false);
    expect_inside(r.outputs[0], bd[0], "trips " + std::to_string(trips));
  }
}

TEST(ControlFlowInterval, ScanIsSound) {
  Graph g = import(scan_model());
  const Node& n = g.nodes[0];
  Tensor k = *g.values[g.find_value("k")].constant;
  Tensor slo = test::filled_f32({2, 2}, -1.f), shi = test::filled_f32({2, 2}, 1.f);
  Tensor xlo = test::filled_f32({4, 2, 2}, 0.f), xhi = test::filled_f32({4, 2, 2}, 2.f);
  std::vector<Bounds> b =
      eval_interval(*find_op("Scan"), n, 13, {box(slo, shi), box(xlo, xhi), Bounds::point(k)},
                    {{DType::kF32, {2, 2}}, {DType::kF32, {4, 2, 2}}}, {});
  ASSERT_TRUE(b[0].known && b[1].known);
  EXPECT_NEAR(vals<float>(b[0].hi)[0], 9.f, 1e-3);  // 1 + 4 * 2
  std::mt19937 gen(12);
  std::uniform_real_distribution<float> u(-1.f, 1.f), v(0.f, 2.f);
  for (int trial = 0; trial < 100; ++trial) {
    Tensor s0(DType::kF32, {2, 2}), xs(DType::kF32, {4, 2, 2});
    for (float& e : s0.view().values<float>()) e = u(gen);
    for (float& e : xs.view().values<float>()) e = v(gen);
    auto r = run_single_node(n, node_inputs(g, {{"s0", s0}, {"xs", xs}}), KernelChoice::kReference,
                             13, false);
    expect_inside(r.outputs[0], b[0], "state");
    expect_inside(r.outputs[1], b[1], "scan");
  }
}

}  // namespace
}  // namespace save
