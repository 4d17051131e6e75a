// `--protect save`: the runtime half of SAVE (allocation, verification,
// recovery) driven by a protection plan (protect/protection_plan.hpp).
#pragma once

#include <memory>

#include "eval/protection.hpp"

namespace save::protect {

std::unique_ptr<eval::Protection> make_save_protection(Session& session,
                                                       const eval::ProtectionOptions& opts);

}  // namespace save::protect
