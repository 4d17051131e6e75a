#include "eval/protection.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "baselines/registry.hpp"
#include "core/error.hpp"
#include "protect/save_protection.hpp"

namespace save::eval {

namespace {

// Plain inference: nothing checked, nothing repaired.
class NoProtection : public Protection {
 public:
  std::string name() const override { return "none"; }
};

}  // namespace

void adapt_session_options(const std::string& mode, SessionOptions& so) {
  if (mode == "abft") so.passes.fused_ops = false;
}

std::unique_ptr<Protection> make_protection(const std::string& mode, Session& session,
                                            const ProtectionOptions& opts) {
  if (mode == "none") return std::make_unique<NoProtection>();
  if (mode == "save") return protect::make_save_protection(session, opts);
  if (auto p = baselines::make_baseline(mode, session, opts)) return p;
  std::vector<std::string> known = {"none", "save"};
  for (const std::string& b : baselines::baseline_names()) known.push_back(b);
  fail("unknown --protect mode '{}' (known: {})", mode, fmt::join(known, ", "));
}

std::vector<Tensor> run_protected(Protection& p, Session& session,
                                  const std::vector<Tensor>& inputs, size_t& prepared) {
  session.plan_for(inputs);
  if (session.plans().size() != prepared) {
    p.prepare(session);
    prepared = session.plans().size();
  }
  session.set_hooks(p.hooks());
  struct Unhook {
    Session& s;
    ~Unhook() { s.set_hooks(nullptr); }
  } unhook{session};
  return session.run(inputs);
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

}  // namespace save::eval
