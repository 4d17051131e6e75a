#include "modes/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "baselines/modes.hpp"
#include "core/error.hpp"
#include "protect/save_protection.hpp"

namespace save::modes {

namespace {

// Plain inference: nothing checked, nothing repaired.
class NoProtection : public protect::Protection {
 public:
  std::string name() const override { return "none"; }
};

const ModeInfo* find_mode(const std::string& name) {
  for (const ModeInfo& m : all_modes())
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

const std::vector<ModeInfo>& all_modes() {
#define MODE(name, kind, fused, help, factory) ModeInfo{name, kind, fused, help},
  static const std::vector<ModeInfo> modes = {
#include "modes/mode_list.inc"
  };
#undef MODE
  return modes;
}

std::vector<std::string> mode_names(bool baselines_only) {
  std::vector<std::string> out;
  for (const ModeInfo& m : all_modes())
    if (!baselines_only || m.kind == Kind::kBaseline) out.push_back(m.name);
  return out;
}

std::string protect_help() {
  return fmt::format("Protection mode: none, save, or a baseline ({})",
                     fmt::join(mode_names(true), ", "));
}

void adapt_session_options(const std::string& mode, SessionOptions& so) {
  const ModeInfo* m = find_mode(mode);
  if (m && !m->fused) so.passes.fused_ops = false;
}

std::unique_ptr<protect::Protection> make_protection(const std::string& mode, Session& session,
                                                     const protect::ProtectionOptions& opts) {
  (void)session;  // modes that need the session get it here or in prepare()
#define MODE(name, kind, fused, help, factory) \
  if (mode == name) return factory;
#include "modes/mode_list.inc"
#undef MODE
  fail("unknown --protect mode '{}' (known: {})", mode, fmt::join(mode_names(), ", "));
}

}  // namespace save::modes
