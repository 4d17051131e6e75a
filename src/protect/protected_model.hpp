// The three-line C++ API of SAVE: load a model, analyse it (or load a plan),
// run it protected. The model and the caller's code stay as they are.
//
//   save::protect::ProtectedModel model("model.onnx");       // load + analyse
//   std::vector<save::Tensor> out = model.run({input});      // checked, repaired
//   const auto& report = model.report();                      // what happened
//
// `options.plan_path` loads a plan from `save analyze -o` instead of
// analysing; a plan made for another model is refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exec/session.hpp"
#include "protect/mode.hpp"
#include "protect/save_protection.hpp"

namespace save::protect {

class ProtectedModel {
 public:
  explicit ProtectedModel(const std::string& onnx_path, ProtectionOptions options = quiet(),
                          SessionOptions session_options = {});
  // Inputs in graph order. Outputs are released only after every check
  // covering them passed (or the fault was repaired and the work redone).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Counts since construction: detections, recoveries, uncorrectable faults.
  const RunReport& report() const;
  Session& session() { return session_; }

 private:
  static ProtectionOptions quiet() {
    ProtectionOptions o;
    o.log = nullptr;
    return o;
  }
  Session session_;
  std::unique_ptr<Protection> protection_;
  size_t prepared_plans_ = 0;
};

}  // namespace save::protect
