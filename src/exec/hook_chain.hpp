// Several hook sets run as one (the injector's, then a protection mode's):
// each hook point in order; after_step takes the earliest restart any of
// them asks for; the first on_kernel_error that handles the error wins.
#pragma once

#include <vector>

#include "exec/hooks.hpp"

namespace save {

class HookChain : public ExecHooks {
 public:
  explicit HookChain(std::vector<ExecHooks*> hooks);  // null entries are skipped
  void on_run_begin(Execution& ex) override;
  void before_step(Execution& ex, size_t step) override;
  void after_kernel(Execution& ex, size_t step) override;
  bool on_kernel_error(Execution& ex, size_t step, size_t& next) override;
  size_t after_step(Execution& ex, size_t step) override;
  void on_run_end(Execution& ex) override;

 private:
  std::vector<ExecHooks*> hooks_;
};

}  // namespace save
