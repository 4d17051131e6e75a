// The factories of the baseline modes, one file each in this folder; the
// registry (registry.hpp) is the public entry point.
#pragma once

#include <memory>

#include "baselines/common.hpp"

namespace save::baselines {

std::unique_ptr<protect::Protection> make_dmr();
std::unique_ptr<protect::Protection> make_tmr();
std::unique_ptr<protect::Protection> make_ecc();
std::unique_ptr<protect::Protection> make_ranger(const protect::ProtectionOptions& opts);
std::unique_ptr<protect::Protection> make_drdna(const protect::ProtectionOptions& opts);
std::unique_ptr<protect::Protection> make_abft();

}  // namespace save::baselines
