// Whole-model bit attribution: every float32 bit of every value the plan
// touches is counted once, weights are never vulnerable, and a larger
// tolerance only moves bits towards robust.
#include "analysis/attribution.hpp"

#include <gtest/gtest.h>

#include "import/onnx_import.hpp"

namespace save {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

TEST(Attribution, CountsEveryBitOnceAndWeightsAreNeverVulnerable) {
  Session session(import_onnx_file(kModel));
  RangeAnalysis ra = analyze_ranges(session);
  Attribution a = attribute_bits(ra, 1e-5);
  uint64_t total = 0;
  for (const ValueBits& vb : a.values) {
    const PlannedValue& pv = ra.plan->values()[vb.value];
    uint64_t n = static_cast<uint64_t>(shape_numel(pv.info.shape));
    EXPECT_EQ(vb.robust + vb.ranging + vb.vulnerable, 32 * n)
        << session.graph().values[vb.value].name;
    if (vb.weight) {
      EXPECT_EQ(vb.vulnerable, 0u);
    }
    total += 32 * n;
  }
  EXPECT_EQ(a.robust + a.ranging + a.vulnerable, total);
  EXPECT_GT(a.robust, 0u);
  EXPECT_GT(a.ranging, 0u);
}

TEST(Attribution, LargerToleranceNeverLosesRobustBits) {
  Session session(import_onnx_file(kModel));
  RangeAnalysis ra = analyze_ranges(session);
  Attribution strict = attribute_bits(ra, 1e-6), loose = attribute_bits(ra, 1e-2);
  ASSERT_EQ(strict.values.size(), loose.values.size());
  for (size_t i = 0; i < strict.values.size(); ++i)
    EXPECT_LE(strict.values[i].robust, loose.values[i].robust);
  EXPECT_LT(strict.robust, loose.robust);
}

}  // namespace
}  // namespace save
