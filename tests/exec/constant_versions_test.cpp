// Per-constant versions: changing one weight's device copy makes exactly the
// kernels that read it repack (and see the change), while every other step
// keeps its version, so a flip or a repair costs one repack, not a cold start.
#include "exec/constant_versions.hpp"

#include <gtest/gtest.h>

#include "data/dataset.hpp"
#include "exec/session.hpp"
#include "exec/step_runner.hpp"
#include "import/onnx_import.hpp"
#include "inject/injector.hpp"

namespace save {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

// Every output equal to the byte (exec/step_runner.hpp's same_bytes per tensor).
bool same_outputs(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  bool same = a.size() == b.size();
  for (size_t i = 0; same && i < a.size(); ++i) same = same_bytes(a[i].view(), b[i].view());
  return same;
}

TEST(ConstantVersions, OnlyTheReadersOfAChangedConstantSeeANewVersion) {
  Session session(import_onnx_file(kModel));
  std::vector<Tensor> in = {slice_rows(load_dataset("fashion-mnist", "").images, 0, 4)};
  const std::vector<Tensor> clean = session.run(in);
  Plan& plan = session.plan_for(in);
  // The weight of the last step that reads a float constant of > 1 element.
  size_t reader = plan.steps().size();
  ValueId w = kNoId;
  for (size_t s = 0; s < plan.steps().size(); ++s)
    for (ValueId v : plan.steps()[s].inputs)
      if (v != kNoId && plan.values()[v].storage == Storage::kConstant &&
          plan.values()[v].info.dtype == DType::kF32 && plan.values()[v].constant.numel() > 1)
        reader = s, w = v;
  ASSERT_NE(w, kNoId);
  ConstantVersions& cv = session.constant_versions();
  std::vector<uint64_t> before;
  for (const PlannedStep& st : plan.steps()) before.push_back(cv.for_step(plan, st));

  flip_value_bit(plan, {w, 30});  // exponent MSB of element 0: a huge change
  session.constant_changed(w);
  for (size_t s = 0; s < plan.steps().size(); ++s) {
    bool reads = false;
    for (ValueId v : plan.steps()[s].inputs) reads = reads || v == w;
    if (reads)
      EXPECT_GT(cv.for_step(plan, plan.steps()[s]), before[s]) << "step " << s;
    else
      EXPECT_EQ(cv.for_step(plan, plan.steps()[s]), before[s]) << "step " << s;
  }
  // The reader repacked: the flip shows in the output, and the repair does too.
  EXPECT_FALSE(same_outputs(session.run(in), clean)) << "step " << reader << " kept a stale copy";
  ASSERT_EQ(session.restore_constants(), 1u);
  EXPECT_TRUE(same_outputs(session.run(in), clean));
  // Changing "everything" still moves every step.
  const uint64_t last = cv.latest();
  session.constants_changed();
  for (const PlannedStep& st : plan.steps()) EXPECT_GT(cv.for_step(plan, st), last);
}

}  // namespace
}  // namespace save
