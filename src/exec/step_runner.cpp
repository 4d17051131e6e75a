#include "exec/step_runner.hpp"

#include <cstring>

#include "core/error.hpp"

namespace save {

void run_step_into(const Plan& plan, PlannedStep& step, std::span<const TensorView> in,
                   std::span<const TensorView> out, uint64_t constants_epoch) {
  SAVE_CHECK(in.size() == step.in_views.size() && out.size() == step.out_views.size(),
             "run_step_into: {} inputs / {} outputs for a step with {} / {}", in.size(), out.size(),
             step.in_views.size(), step.out_views.size());
  const Graph& g = plan.graph();
  KernelContext ctx{g.nodes[step.node], in, out, constants_epoch, g.opset};
  if (step.fast)
    step.fast->run(ctx);
  else
    step.def->reference(ctx);
}

std::span<const std::vector<TensorView>> StepScratch::outputs(const PlannedStep& step,
                                                              size_t copies) {
  Entry& e = entries_[&step];
  while (e.views.size() < copies) {
    std::vector<TensorView> views;
    for (const TensorView& o : step.out_views) {
      if (o.data == nullptr) {
        views.push_back(o);
        continue;
      }
      e.tensors.emplace_back(o.dtype, Shape(o.shape.begin(), o.shape.end()));
      views.push_back(e.tensors.back().view());
    }
    e.views.push_back(std::move(views));
  }
  return std::span<const std::vector<TensorView>>(e.views.data(), copies);
}

bool same_bytes(const TensorView& a, const TensorView& b) {
  if (a.data == nullptr || b.data == nullptr) return a.data == b.data;
  return a.nbytes() == b.nbytes() && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

}  // namespace save
