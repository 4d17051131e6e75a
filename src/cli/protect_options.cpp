#include "cli/protect_options.hpp"

#include "analysis/range_analysis.hpp"
#include "modes/registry.hpp"

namespace save::cli {

void add_protect_options(CLI::App* c, const std::shared_ptr<ProtectArgs>& a) {
  c->add_option("--protect", a->mode, modes::protect_help())->capture_default_str();
  c->add_option("--plan", a->plan,
                "save: protection plan from `save analyze -o` (default: analyse on the fly)");
  c->add_option("--reliable-mem", a->reliable_mem,
                "save: reliable-memory budget, BYTES (e.g. 65536, 64KiB) or PERCENT% of "
                "inference memory (default 1%)");
  c->add_option(
       "--weight-check", a->weight_check,
       "save: verify device weights by golden 'checksum's in reliable memory or against the "
       "'host' copy")
      ->capture_default_str();
  c->add_option("--activation-check", a->activation_check,
                "save: 'full' (range checks + fingerprints of non-robust bits) or 'range' "
                "(range checks only)")
      ->capture_default_str();
  c->add_flag("--async-checks", a->async_checks,
              "save: a checker thread (the second core) verifies the weights while the next "
              "steps compute (default: every check on the compute thread)");
  c->add_option("--input-range", a->input_ranges,
                "save: NAME=LO:HI constraint on a model input (default [0, 1] for float inputs)");
  c->add_option("--tolerance", a->tolerance,
                "save: largest harmless change of a value (robust bits) when analysing")
      ->capture_default_str();
}

void add_no_fuse_option(CLI::App* c, bool& no_fuse) {
  c->add_flag("--no-fuse", no_fuse,
              "Run the graph as written: no graph passes (BatchNorm folding, scale/bias "
              "folding, fused Conv/MatMul/Gemm + activation kernels); a --plan must be made the "
              "same way");
}

protect::ProtectionOptions protection_options(const ProtectArgs& a, const std::string& model_sha256,
                                              int64_t batch) {
  protect::ProtectionOptions o;
  o.plan_path = a.plan;
  o.model_sha256 = model_sha256;
  o.tolerance = a.tolerance;
  o.reliable_mem = a.reliable_mem;
  o.weight_check = a.weight_check;
  o.activation_check = a.activation_check;
  o.async_checks = a.async_checks;
  for (const std::string& r : a.input_ranges) o.input_ranges.insert(parse_input_range(r));
  o.batch = batch;
  return o;
}

}  // namespace save::cli
