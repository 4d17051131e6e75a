#include "exec/hook_chain.hpp"

#include <algorithm>

namespace save {

HookChain::HookChain(std::vector<ExecHooks*> hooks) {
  for (ExecHooks* h : hooks)
    if (h) hooks_.push_back(h);
}

void HookChain::on_run_begin(Execution& ex) {
  for (ExecHooks* h : hooks_) h->on_run_begin(ex);
}

void HookChain::before_step(Execution& ex, size_t step) {
  for (ExecHooks* h : hooks_) h->before_step(ex, step);
}

void HookChain::after_kernel(Execution& ex, size_t step) {
  for (ExecHooks* h : hooks_) h->after_kernel(ex, step);
}

bool HookChain::on_kernel_error(Execution& ex, size_t step, size_t& next) {
  for (ExecHooks* h : hooks_)
    if (h->on_kernel_error(ex, step, next)) return true;
  return false;
}

size_t HookChain::after_step(Execution& ex, size_t step) {
  size_t next = step + 1;
  for (ExecHooks* h : hooks_) next = std::min(next, h->after_step(ex, step));
  return next;
}

void HookChain::on_run_end(Execution& ex) {
  for (ExecHooks* h : hooks_) h->on_run_end(ex);
}

}  // namespace save
