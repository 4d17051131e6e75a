// Runs folders laid out as ONNX backend test cases (model.onnx +
// test_data_set_N/{input_K.pb, output_K.pb}) and compares outputs.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace save {

struct CaseResult {
  std::string name;    // path relative to the suite root, e.g. "node/test_abs"
  std::string status;  // "passed" | "failed" | "skipped"
  std::string message;
  double seconds = 0;
};

struct ConformanceOptions {
  double rtol = 1e-3;
  double atol = 1e-5;
  std::string filter;             // substring a case name must contain
  std::vector<std::string> only;  // if non-empty: run exactly these names
  bool use_fast_kernels = true;
};

// Finds case folders under `root` (a folder holding model.onnx is a case;
// otherwise its sub-folders are searched, two levels deep).
std::vector<std::string> find_cases(const std::string& root);

// Runs one case folder; never throws (errors become a failed result).
CaseResult run_case(const std::string& dir, const std::string& name,
                    const ConformanceOptions& opts);

std::vector<CaseResult> run_conformance(const std::string& root, const ConformanceOptions& opts,
                                        const std::function<void(const CaseResult&)>& on_case);

}  // namespace save
