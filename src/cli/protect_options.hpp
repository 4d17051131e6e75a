// The --protect family of options, shared by `save run`, `save inject` and
// `save eval`: the mode and what it needs (plan, reliable budget, weight
// check, input constraint).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "protect/mode.hpp"

namespace save::cli {

struct ProtectArgs {
  std::string mode = "none";
  std::string plan, reliable_mem, weight_check = "checksum", activation_check = "full";
  bool async_checks = false;
  std::vector<std::string> input_ranges;
  double tolerance = 1e-5;
};

// Registers --protect, --plan, --reliable-mem, --weight-check, --input-range
// and --tolerance on `c`.
void add_protect_options(CLI::App* c, const std::shared_ptr<ProtectArgs>& a);

// Registers --no-fuse (the graph as written: no BatchNorm folding, no
// fusion; passes/pipeline.hpp) on a subcommand that builds a session.
void add_no_fuse_option(CLI::App* c, bool& no_fuse);

// The options a mode gets; `model_sha256` ties a --plan to its model.
protect::ProtectionOptions protection_options(const ProtectArgs& a, const std::string& model_sha256,
                                              int64_t batch);

}  // namespace save::cli
