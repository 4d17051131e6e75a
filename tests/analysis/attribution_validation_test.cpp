// Bit attribution against ground truth on a bundled model (the small
// version of scripts/validate-attribution.sh): weight bits predicted robust
// are flipped one at a time and must not move any output by the tolerance,
// turn one NaN/Inf or change a top-1; and the sweep's early stop (reader
// outputs unchanged) gives exactly what full re-runs give.
#include <gtest/gtest.h>

#include "analysis/robust_masks.hpp"
#include "data/dataset.hpp"
#include "import/onnx_import.hpp"
#include "inject/sweep.hpp"

namespace save {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

TEST(AttributionValidation, PredictedRobustWeightBitsAreRobustOnRealImages) {
  Session session(import_onnx_file(kModel));
  const Dataset ds = load_dataset("fashion-mnist");
  SweepOptions o;
  o.all_weights = true;
  o.sample = 1000;  // drawn among the predicted-robust bits
  o.seed = 2;
  o.predict_tolerance = 1e-5;
  o.only = SweepOptions::Only::kPredictedRobust;
  Sweep sw(session, {slice_rows(ds.images, 0, 16)}, o);
  const SweepSummary s = sw.run();
  const Confusion& c = s.confusion;
  EXPECT_EQ(c.total(), s.bits);
  EXPECT_EQ(s.bits, 1000);
  EXPECT_EQ(c.conservative + c.nonrobust_nonrobust, 0);  // only predicted-robust bits swept
  EXPECT_EQ(c.false_robust, 0);
  EXPECT_EQ(c.false_robust_consumer, 0);
}

TEST(AttributionValidation, NonRobustPredictionsIncludeTrulyHarmfulBits) {
  // The judge can fail: among bits predicted non-robust, some do change a
  // top-1 or move an output beyond the tolerance.
  Session session(import_onnx_file(kModel));
  const Dataset ds = load_dataset("fashion-mnist");
  SweepOptions o;
  o.all_weights = true;
  o.bit_positions = {30};
  o.sample = 200;
  o.predict_tolerance = 1e-5;
  Sweep sw(session, {slice_rows(ds.images, 0, 16)}, o);
  const Confusion c = sw.run().confusion;
  EXPECT_GT(c.nonrobust_nonrobust, 50);
  EXPECT_EQ(c.robust_robust + c.false_robust, 0);  // bit 30 of a weight is never robust
}

TEST(AttributionValidation, EarlyStopMatchesFullReruns) {
  Session session(import_onnx_file(kModel));
  const Dataset ds = load_dataset("fashion-mnist");
  SweepOptions o;
  o.all_weights = true;
  o.sample = 400;
  o.seed = 5;
  o.bit_positions = {0, 1, 2, 3, 20, 30};
  std::vector<BitEffect> fast, full;
  {
    Sweep sw(session, {slice_rows(ds.images, 0, 4)}, o);
    const SweepSummary s =
        sw.run([&](const SweepTensor&, const BitEffect& e) { fast.push_back(e); });
    EXPECT_GT(s.stopped_early, 0);  // low bits of small weights round away
  }
  o.verify = true;  // no early stop, and every partial re-run checked against a full run
  {
    Sweep sw(session, {slice_rows(ds.images, 0, 4)}, o);
    sw.run([&](const SweepTensor&, const BitEffect& e) { full.push_back(e); });
  }
  ASSERT_EQ(fast.size(), full.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    EXPECT_EQ(fast[i].max_abs, full[i].max_abs) << i;
    EXPECT_EQ(fast[i].top1_changes, full[i].top1_changes) << i;
    if (fast[i].stopped_early) {
      EXPECT_EQ(full[i].max_abs, 0.0) << i;
    }
  }
}

}  // namespace
}  // namespace save
