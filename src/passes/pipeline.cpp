#include "passes/pipeline.hpp"

#include "passes/activation_patterns.hpp"
#include "passes/fold_batchnorm.hpp"
#include "passes/fold_scale_bias.hpp"
#include "passes/fuse_post_ops.hpp"
#include "passes/layernorm_pattern.hpp"

namespace save {

namespace {
constexpr PassDef kPasses[] = {
#define SAVE_PASS(name, fn, fused) {name, &fn, fused},
#include "passes/pass_list.inc"
#undef SAVE_PASS
};
}  // namespace

std::span<const PassDef> all_passes() {
  return kPasses;
}

std::vector<PassReport> run_passes(Graph& g, const PassOptions& o) {
  std::vector<PassReport> out;
  if (!o.enabled) return out;
  for (const PassDef& p : kPasses) {
    if (p.fused_ops && !o.fused_ops) continue;
    out.push_back({p.name, p.run(g)});
    g.passes.push_back(p.name);
  }
  return out;
}

std::string passes_str(const std::vector<std::string>& passes) {
  if (passes.empty()) return "none";
  std::string s;
  for (const std::string& p : passes) s += (s.empty() ? "" : ",") + p;
  return s;
}

}  // namespace save
