// save._save: the engine behind the `save` Python package (python/save/).
// Session runs a model unprotected; ProtectedModel runs it under SAVE's
// checks and repair (src/protect/protected_model.hpp). Both take NumPy
// arrays without copying them (convert.hpp), release the GIL while the
// engine runs, and raise save.Error with the engine's message.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "bindings.hpp"
#include "convert.hpp"
#include "core/error.hpp"
#include "import/onnx_import.hpp"
#include "protect/protected_model.hpp"
#include "protect/report_json.hpp"

namespace save::py {

namespace {

std::vector<std::string> input_names(const Graph& g) {
  std::vector<std::string> out;
  for (ValueId v : g.inputs) out.push_back(g.values[v].name);
  return out;
}

std::vector<std::string> output_names(const Graph& g) {
  std::vector<std::string> out;
  for (ValueId v : g.outputs) out.push_back(g.values[v].name);
  return out;
}

// One output: the array; several: a list in graph-output order.
pyb::object wrap_outputs(const std::vector<Tensor>& outs) {
  if (outs.size() == 1) return to_array(outs[0]);
  pyb::list l;
  for (const Tensor& t : outs) l.append(to_array(t));
  return l;
}

// Runs `fn(tensors)` on the borrowed inputs without the GIL, one call at a
// time per model. The session keeps the last inputs as its host copy
// (recovery reloads from it), so their arrays stay referenced until the
// next call replaces them.
class Runner {
 public:
  template <typename Fn>
  pyb::object run(const pyb::handle& inputs, const Graph& g, Fn&& fn) {
    BorrowedInputs in = to_tensors(inputs, input_names(g));
    std::vector<Tensor> outs;
    {
      pyb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      try {
        outs = fn(in.tensors);
      } catch (...) {
        pyb::gil_scoped_acquire gil;
        // The session may hold either set now: keep both until next time.
        for (auto& o : in.keep) keep_.push_back(std::move(o));
        throw;
      }
    }
    keep_ = std::move(in.keep);
    return wrap_outputs(outs);
  }
  // Seconds per call of `fn` on the same inputs, `n` calls timed in C++ (no
  // Python in the loop): what bench/python_overhead.py compares run() with.
  template <typename Fn>
  std::vector<double> time(const pyb::handle& inputs, const Graph& g, int n, Fn&& fn) {
    BorrowedInputs in = to_tensors(inputs, input_names(g));
    std::vector<double> secs;
    {
      pyb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < n; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        fn(in.tensors);
        secs.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    keep_ = std::move(in.keep);
    return secs;
  }

 private:
  std::mutex mu_;
  std::vector<pyb::object> keep_;
};

class PySession {
 public:
  PySession(const std::string& path, int threads, bool fuse) {
    SessionOptions so;
    so.threads = threads;
    so.passes.enabled = fuse;  // false: the graph as written (--no-fuse)
    session_ = std::make_unique<Session>(import_onnx_file(path), so);
  }
  pyb::object run(const pyb::handle& inputs) {
    return runner_.run(inputs, session_->graph(),
                       [this](const std::vector<Tensor>& t) { return session_->run(t); });
  }
  const Graph& graph() const { return session_->graph(); }
  std::vector<double> time_runs(const pyb::handle& inputs, int n) {
    return runner_.time(inputs, graph(), n,
                        [this](const std::vector<Tensor>& t) { return session_->run(t); });
  }

 private:
  std::unique_ptr<Session> session_;
  Runner runner_;
};

class PyProtectedModel {
 public:
  PyProtectedModel(const std::string& path, const pyb::object& plan,
                   const pyb::object& reliable_mem, const pyb::object& input_range,
                   double tolerance, const std::string& weight_check,
                   const std::string& activation_check, bool async_checks, int threads,
                   bool verbose) {
    protect::ProtectionOptions o;
    o.log = verbose ? stderr : nullptr;
    if (!plan.is_none()) o.plan_path = pyb::str(plan);
    if (!reliable_mem.is_none()) o.reliable_mem = pyb::str(reliable_mem);
    o.input_ranges = input_ranges(input_range);
    o.tolerance = tolerance;
    o.weight_check = weight_check;
    o.activation_check = activation_check;
    o.async_checks = async_checks;
    SessionOptions so;
    so.threads = threads;
    {
      pyb::gil_scoped_release nogil;  // the analysis can take seconds
      model_ = std::make_unique<protect::ProtectedModel>(path, o, so);
    }
    std::vector<std::string> names = input_names(graph());
    for (const auto& [name, range] : o.input_ranges) {
      (void)range;
      bool known = false;
      for (const std::string& n : names) known = known || n == name;
      SAVE_CHECK(known, "input_range: the model has no input named '{}' (inputs: {})", name,
                 fmt::join(names, ", "));
    }
  }
  pyb::object run(const pyb::handle& inputs) {
    return runner_.run(inputs, graph(),
                       [this](const std::vector<Tensor>& t) { return model_->run(t); });
  }
  pyb::object report() const { return to_python(protect::to_json(model_->report())); }
  const Graph& graph() { return model_->session().graph(); }
  std::vector<double> time_runs(const pyb::handle& inputs, int n) {
    return runner_.time(inputs, graph(), n,
                        [this](const std::vector<Tensor>& t) { return model_->run(t); });
  }

 private:
  std::unique_ptr<protect::ProtectedModel> model_;
  Runner runner_;
};

}  // namespace

std::map<std::string, std::pair<double, double>> input_ranges(const pyb::object& obj) {
  std::map<std::string, std::pair<double, double>> out;
  if (obj.is_none()) return out;
  SAVE_CHECK(pyb::isinstance<pyb::dict>(obj),
             "input_range must be a dict {{input name: (lo, hi)}}, got {}",
             std::string(pyb::str(obj.get_type().attr("__name__"))));
  for (auto item : pyb::reinterpret_borrow<pyb::dict>(obj)) {
    std::string name = pyb::str(item.first);
    std::pair<double, double> r;
    try {
      r = item.second.cast<std::pair<double, double>>();
    } catch (const pyb::cast_error&) {
      fail("input_range['{}'] must be a pair (lo, hi) of numbers", name);
    }
    SAVE_CHECK(r.first <= r.second, "input_range['{}']: lo {} is above hi {}", name, r.first,
               r.second);
    out[name] = r;
  }
  return out;
}

void add_models(pyb::module_& m) {
  pyb::class_<PySession>(m, "Session")
      .def(pyb::init<const std::string&, int, bool>(), pyb::arg("model"), pyb::arg("threads") = 0,
           pyb::arg("fuse") = true)
      .def("run", &PySession::run, pyb::arg("inputs"))
      .def("_time_runs", &PySession::time_runs, pyb::arg("inputs"), pyb::arg("n"))
      .def_property_readonly("inputs", [](PySession& s) { return input_names(s.graph()); })
      .def_property_readonly("outputs", [](PySession& s) { return output_names(s.graph()); });

  pyb::class_<PyProtectedModel>(m, "ProtectedModel")
      .def(pyb::init<const std::string&, const pyb::object&, const pyb::object&, const pyb::object&,
                     double, const std::string&, const std::string&, bool, int, bool>(),
           pyb::arg("model"), pyb::arg("plan") = pyb::none(),
           pyb::arg("reliable_mem") = pyb::none(), pyb::arg("input_range") = pyb::none(),
           pyb::arg("tolerance") = 1e-5, pyb::arg("weight_check") = "checksum",
           pyb::arg("activation_check") = "full", pyb::arg("async_checks") = false,
           pyb::arg("threads") = 0, pyb::arg("verbose") = false)
      .def("run", &PyProtectedModel::run, pyb::arg("inputs"))
      .def("_time_runs", &PyProtectedModel::time_runs, pyb::arg("inputs"), pyb::arg("n"))
      .def_property_readonly("report", &PyProtectedModel::report)
      .def_property_readonly("inputs", [](PyProtectedModel& p) { return input_names(p.graph()); })
      .def_property_readonly("outputs",
                             [](PyProtectedModel& p) { return output_names(p.graph()); });
}

}  // namespace save::py

PYBIND11_MODULE(_save, m) {
  m.doc() = "SAVE engine: protected inference, analysis and fault-injection campaigns";
  pybind11::register_exception<save::Error>(m, "Error", PyExc_RuntimeError);
  save::py::add_models(m);
  save::py::add_campaigns(m);
  save::py::add_analysis(m);
}
