// The protection modes by name (modes/mode_list.inc): the factory every
// caller uses (`save run|inject|eval`, Python, the tests). This layer sits
// above protect/ (the interface and `save`) and baselines/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "protect/mode.hpp"

namespace save::modes {

enum class Kind { kPlain, kSave, kBaseline };

struct ModeInfo {
  std::string name;
  Kind kind;
  bool fused;  // its sessions may run the fusing passes
  std::string help;
};

// Every mode, in report order.
const std::vector<ModeInfo>& all_modes();
std::vector<std::string> mode_names(bool baselines_only = false);
// "none, save, or a baseline (dmr, tmr, ...)": --protect's help.
std::string protect_help();

// Adjusts the session options `mode` needs (abft: no fusing passes).
void adapt_session_options(const std::string& mode, SessionOptions& so);

// The mode named `mode`; throws Error naming the known modes otherwise.
std::unique_ptr<protect::Protection> make_protection(const std::string& mode, Session& session,
                                                     const protect::ProtectionOptions& opts = {});

}  // namespace save::modes
