#include "eval/protection.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace save::eval {

namespace {

// Plain inference: nothing checked, nothing repaired.
class NoProtection : public Protection {
 public:
  std::string name() const override { return "none"; }
};

}  // namespace

std::unique_ptr<Protection> make_protection(const std::string& mode, Session& session) {
  (void)session;  // later modes profile or instrument the session
  if (mode == "none") return std::make_unique<NoProtection>();
  static const char* kPlanned[] = {"save",   "dmr",   "tmr",  "ecc",
                                   "ranger", "drdna", "abft", "rednet"};
  for (const char* m : kPlanned)
    SAVE_CHECK(mode != m, "--protect {} is not implemented yet (only 'none' is)", mode);
  fail(
      "unknown --protect mode '{}' (none; planned: save, dmr, tmr, ecc, ranger, drdna, abft, "
      "rednet)",
      mode);
}

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

size_t HookChain::after_step(Execution& ex, size_t step) {
  size_t next = step + 1;
  for (ExecHooks* h : hooks_) next = std::min(next, h->after_step(ex, step));
  return next;
}

void HookChain::on_run_end(Execution& ex) {
  for (ExecHooks* h : hooks_) h->on_run_end(ex);
}

}  // namespace save::eval
