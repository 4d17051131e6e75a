#include "conformance/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace save {

namespace fs = std::filesystem;

std::vector<std::string> find_cases(const std::string& root) {
  SAVE_CHECK(fs::is_directory(root), "'{}' is not a directory", root);
  std::vector<std::string> out;
  if (fs::exists(fs::path(root) / "model.onnx")) return {"."};
  for (const auto& e : fs::directory_iterator(root)) {
    if (!e.is_directory()) continue;
    if (fs::exists(e.path() / "model.onnx")) {
      out.push_back(e.path().filename().string());
      continue;
    }
    for (const auto& e2 : fs::directory_iterator(e.path()))
      if (e2.is_directory() && fs::exists(e2.path() / "model.onnx"))
        out.push_back((e.path().filename() / e2.path().filename()).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

// Compares with |a - e| <= atol + rtol * |e|; NaN equals NaN. Returns "" when
// equal, else a description of the first mismatch.
std::string compare(const Tensor& got, const Tensor& want, double rtol, double atol,
                    const std::string& name) {
  if (got.shape() != want.shape())
    return fmt::format("output '{}': shape {} expected {}", name, shape_str(got.shape()),
                       shape_str(want.shape()));
  if (got.dtype() != want.dtype())
    return fmt::format("output '{}': type {} expected {}", name, dtype_name(got.dtype()),
                       dtype_name(want.dtype()));
  std::vector<double> g = got.to_double(), w = want.to_double();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok = (std::isnan(g[i]) && std::isnan(w[i])) || g[i] == w[i] ||
              std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i]);
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return "";
  return fmt::format("output '{}': {} of {} elements differ; first at {}: got {} expected {}", name,
                     bad, g.size(), first, g[first], w[first]);
}

}  // namespace

CaseResult run_case(const std::string& dir, const std::string& name,
                    const ConformanceOptions& opts) {
  CaseResult r{name, "passed", "", 0};
  auto t0 = std::chrono::steady_clock::now();
  try {
    Graph g = import_onnx_file((fs::path(dir) / "model.onnx").string());
    std::vector<std::string> out_names;
    for (ValueId v : g.outputs) out_names.push_back(g.values[v].name);
    SessionOptions so;
    so.plan.use_fast_kernels = opts.use_fast_kernels;
    so.reject_nonfinite_inputs = false;  // some cases feed Inf/NaN on purpose
    Session session(std::move(g), so);
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
        sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) {
      r.status = "skipped";
      r.message = "no test_data_set_* folder";
    }
    for (const fs::path& set : sets) {
      std::vector<Tensor> inputs;
      for (const fs::path& p : numbered(set, "input_"))
        inputs.push_back(load_tensor_pb(p.string()));
      std::vector<Tensor> outs = session.run(inputs);
      std::vector<fs::path> expected = numbered(set, "output_");
      SAVE_CHECK(expected.size() <= outs.size(), "model gives {} outputs, the case expects {}",
                 outs.size(), expected.size());
      for (size_t k = 0; k < expected.size(); ++k) {
        Tensor want = load_tensor_pb(expected[k].string());
        std::string diff = compare(outs[k], want, opts.rtol, opts.atol, out_names[k]);
        if (!diff.empty()) {
          r.status = "failed";
          r.message = set.filename().string() + ": " + diff;
          break;
        }
      }
      if (r.status == "failed") break;
    }
  } catch (const std::exception& e) {
    std::string msg = e.what();
    // Data types the engine does not handle at all are out of scope: skip.
    bool unsupported_type = msg.find("element type code") != std::string::npos;
    r.status = unsupported_type ? "skipped" : "failed";
    r.message = msg;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<CaseResult> run_conformance(const std::string& root, const ConformanceOptions& opts,
                                        const std::function<void(const CaseResult&)>& on_case) {
  std::vector<std::string> names;
  if (!opts.only.empty()) {
    names = opts.only;
  } else {
    names = find_cases(root);
  }
  std::vector<CaseResult> results;
  for (const std::string& n : names) {
    if (!opts.filter.empty() && n.find(opts.filter) == std::string::npos) continue;
    fs::path dir = n == "." ? fs::path(root) : fs::path(root) / n;
    CaseResult r;
    if (!fs::exists(dir / "model.onnx")) {
      r = CaseResult{n, "failed", "case folder or model.onnx not found", 0};
    } else {
      r = run_case(dir.string(), n, opts);
    }
    if (on_case) on_case(r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace save
