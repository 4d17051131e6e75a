#include "protect/save_protection.hpp"

#include "core/error.hpp"

namespace save::protect {

std::unique_ptr<eval::Protection> make_save_protection(Session& session,
                                                       const eval::ProtectionOptions& opts) {
  (void)session, (void)opts;
  fail("--protect save is not implemented yet");
}

}  // namespace save::protect
