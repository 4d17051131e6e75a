#include "baselines/registry.hpp"

#include "baselines/modes.hpp"

namespace save::baselines {

std::unique_ptr<eval::Protection> make_baseline(const std::string& mode, Session& session,
                                                const eval::ProtectionOptions& opts) {
  (void)session;  // modes that need the session get it in prepare()
  if (mode == "dmr") return make_dmr();
  if (mode == "tmr") return make_tmr();
  if (mode == "ecc") return make_ecc();
  if (mode == "ranger") return make_ranger(opts);
  if (mode == "drdna") return make_drdna(opts);
  if (mode == "abft") return make_abft();
  return nullptr;
}

std::vector<std::string> baseline_names() {
  return {"dmr", "tmr", "ecc", "ranger", "drdna", "abft"};
}

}  // namespace save::baselines
