// Helpers shared by the pass tests in tests/passes/: a small graph builder
// and a run of a graph as written (no passes), with the fast or the
// reference kernels. Header-only: each test binary is one .cpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "exec/session.hpp"
#include "ir/graph.hpp"

namespace save::test {

struct GraphBuilder {
  Graph g;
  GraphBuilder() { g.opset = 17; }
  ValueId value(const std::string& name) {
    Value v;
    v.name = name;
    g.values.push_back(v);
    return static_cast<ValueId>(g.values.size() - 1);
  }
  ValueId input(const std::string& name, const Shape& shape) {
    ValueId v = value(name);
    g.values[v].dtype = DType::kF32;
    g.values[v].is_graph_input = true;
    g.values[v].has_shape = true;
    for (int64_t d : shape) g.values[v].shape.push_back(Dim{d, ""});
    g.inputs.push_back(v);
    return v;
  }
  ValueId constant(const std::string& name, Tensor t) {
    ValueId v = value(name);
    g.values[v].dtype = t.dtype();
    g.values[v].constant = std::move(t);
    return v;
  }
  ValueId scalar(const std::string& name, float x) { return constant(name, Tensor::scalar(x)); }
  // A node `op` reading `in` (kNoId: omitted); returns its output.
  ValueId node(const std::string& op, std::vector<ValueId> in, Attributes attrs = {}) {
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op = op;
    n.attrs = std::move(attrs);
    n.inputs = std::move(in);
    ValueId out = value(n.name + ".out");
    n.outputs = {out};
    g.nodes.push_back(std::move(n));
    return out;
  }
  Graph done(std::vector<ValueId> outs) {
    for (ValueId o : outs) {
      g.values[o].is_graph_output = true;
      g.outputs.push_back(o);
    }
    g.link();
    return g;
  }
};

// Runs `g` as given (no graph passes).
inline std::vector<Tensor> run_as_written(const Graph& g, const std::vector<Tensor>& in,
                                          bool fast = true) {
  SessionOptions so;
  so.passes.enabled = false;
  so.plan.use_fast_kernels = fast;
  Session s(g, so);
  return s.run(in);
}

inline size_t count_op(const Graph& g, const std::string& op) {
  return static_cast<size_t>(
      std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

// |a - b| <= atol + rtol * |b| elementwise.
inline void expect_near_all(const Tensor& a, const Tensor& b, double rtol, double atol,
                            const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  auto x = a.to_double(), y = b.to_double();
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(x[i], y[i], atol + rtol * std::abs(y[i])) << what << " at " << i;
}

}  // namespace save::test
