// Shared by the baseline tests: the bundled Fashion-MNIST CNN on a few test
// images, its fault-free outputs, and a hook that flips one chosen bit of a
// step's output the moment the step has written it (before the protection's
// own after_step sees it, as the injector's flips do).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "exec/hook_chain.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "modes/registry.hpp"
#include "protect/mode.hpp"

namespace save::baselines::test {

inline std::string model_path(const std::string& name) {
  return std::string(SAVE_SOURCE_DIR) + "/models/fmnist-" + name + ".onnx";
}

// First `n` Fashion-MNIST images of `split` ("fashion-mnist" = test,
// "fashion-mnist-train").
inline Tensor images(int64_t n, const std::string& split = "fashion-mnist") {
  static Dataset test = load_dataset("fashion-mnist");
  if (split == "fashion-mnist") return slice_rows(test.images, 0, n);
  return slice_rows(load_dataset(split).images, 0, n);
}

// Flips bit `bit` of element `element` of output 0 of the first step whose
// op is `op` or its fused form (FusedConv for Conv: the step then writes
// the fused activation's output), once per run.
class Flipper : public ExecHooks {
 public:
  Flipper(std::string op, int64_t element, int bit)
      : op_(std::move(op)), element_(element), bit_(bit) {}
  int flips = 0;

  void on_run_begin(Execution& ex) override { done_ = false; }
  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    if (done_ || (op_ != st.def->name && "Fused" + op_ != st.def->name)) return step + 1;
    auto* p = static_cast<uint32_t*>(st.out_views[0].data);
    p[element_] ^= 1u << bit_;
    done_ = true;
    ++flips;
    return step + 1;
  }

 private:
  std::string op_;
  int64_t element_;
  int bit_;
  bool done_ = false;
};

inline bool same_outputs(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].nbytes() != b[i].nbytes() || std::memcmp(a[i].data(), b[i].data(), a[i].nbytes()) != 0)
      return false;
  return true;
}

inline std::vector<int64_t> top1(const Tensor& logits) {
  std::vector<int64_t> out;
  int64_t k = logits.shape()[1];
  for (int64_t r = 0; r < logits.shape()[0]; ++r) {
    const float* p = logits.ptr<float>() + r * k;
    out.push_back(std::max_element(p, p + k) - p);
  }
  return out;
}

// Runs `inputs` with `hooks` chained in order; restores no hooks afterwards.
inline std::vector<Tensor> run_with(Session& s, const Tensor& input,
                                    std::vector<ExecHooks*> hooks) {
  HookChain chain(std::move(hooks));
  s.set_hooks(&chain);
  std::vector<Tensor> out = s.run({input});
  s.set_hooks(nullptr);
  return out;
}

// Session options as the CLI gives a mode (abft: no fused nodes).
inline SessionOptions options_for(const std::string& mode) {
  SessionOptions so;
  modes::adapt_session_options(mode, so);
  return so;
}

// A bundled model on its first `n` test images, with the fault-free outputs,
// in a session set up for `mode`.
struct Case {
  explicit Case(const std::string& model = "cnn", int64_t n = 16, const std::string& mode = "")
      : session(import_onnx_file(model_path(model)), options_for(mode)),
        x(images(n)),
        golden(session.run({x})) {}
  Session session;
  Tensor x;
  std::vector<Tensor> golden;
  Plan& plan() { return session.plan_for({x}); }
};

inline protect::ProtectionOptions quiet_options(int64_t profile_samples = 256, int64_t batch = 16) {
  protect::ProtectionOptions o;
  o.profile_samples = profile_samples;
  o.batch = batch;
  o.log = nullptr;
  return o;
}

}  // namespace save::baselines::test
