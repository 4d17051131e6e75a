#include "protect/protected_model.hpp"

#include "core/hash.hpp"
#include "import/onnx_import.hpp"

namespace save::protect {

namespace {
ProtectionOptions with_hash(ProtectionOptions o, const std::string& path) {
  if (o.model_sha256.empty()) o.model_sha256 = file_sha256(path);
  return o;
}
}  // namespace

ProtectedModel::ProtectedModel(const std::string& onnx_path, ProtectionOptions options,
                               SessionOptions session_options)
    : session_(import_onnx_file(onnx_path), session_options),
      protection_(make_save_protection(session_, with_hash(std::move(options), onnx_path))) {
  protection_->begin_trial(nullptr);
}

std::vector<Tensor> ProtectedModel::run(const std::vector<Tensor>& inputs) {
  return run_protected(*protection_, session_, inputs, prepared_plans_);
}

const RunReport& ProtectedModel::report() const {
  return *protection_->run_report();
}

}  // namespace save::protect
