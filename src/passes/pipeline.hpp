// The pass pipeline: the graph rewrites a session applies once, before any
// plan, listed once in passes/pass_list.inc. What the passes produce is the
// model as it runs: the analysis, the checks and the injector all see the
// rewritten graph.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace save {

struct PassDef {
  const char* name;
  size_t (*run)(Graph& g);  // returns the number of rewrites made
  bool fused_ops;           // makes fused nodes (ops/fused.hpp)
};

// Every pass, in pass_list.inc order.
std::span<const PassDef> all_passes();

struct PassOptions {
  // false: the graph runs as written (`--no-fuse`).
  bool enabled = true;
  // false: skip the passes that make fused nodes (a mode that checks the
  // linear layers' outputs, abft, needs them in memory).
  bool fused_ops = true;
};

struct PassReport {
  std::string name;
  size_t rewrites = 0;
};

// Runs the passes in order (none unless o.enabled) and records their names
// in g.passes.
std::vector<PassReport> run_passes(Graph& g, const PassOptions& o = {});

// "fold-batchnorm,fold-scale-bias,..." or "none": how the list is shown.
std::string passes_str(const std::vector<std::string>& passes);

}  // namespace save
