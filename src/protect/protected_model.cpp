#include "protect/protected_model.hpp"

#include "core/hash.hpp"
#include "import/onnx_import.hpp"

namespace save::protect {

namespace {
eval::ProtectionOptions with_hash(eval::ProtectionOptions o, const std::string& path) {
  if (o.model_sha256.empty()) o.model_sha256 = file_sha256(path);
  return o;
}
}  // namespace

ProtectedModel::ProtectedModel(const std::string& onnx_path, eval::ProtectionOptions options,
                               SessionOptions session_options)
    : session_(import_onnx_file(onnx_path), session_options),
      protection_(make_save_protection(session_, with_hash(std::move(options), onnx_path))) {
  protection_->begin_trial(nullptr);
}

std::vector<Tensor> ProtectedModel::run(const std::vector<Tensor>& inputs) {
  session_.plan_for(inputs);
  if (session_.plans().size() != prepared_plans_) {
    protection_->prepare(session_);
    prepared_plans_ = session_.plans().size();
  }
  session_.set_hooks(protection_->hooks());
  struct Unhook {
    Session& s;
    ~Unhook() { s.set_hooks(nullptr); }
  } unhook{session_};
  return session_.run(inputs);
}

const SaveRunReport& ProtectedModel::report() const {
  return *save_report(*protection_);
}

}  // namespace save::protect
