// The one SDC rule (eval/sdc_metric.hpp): top-1 and its NaN rule, the
// automatic metric per output shape, rel-linf against the golden range,
// and the --sdc-metric parser's errors.
#include "eval/sdc_metric.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace save {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SdcMetric, Top1TakesTheFirstLargestAndNaNHasNone) {
  const float a[] = {0.1f, 3.0f, -2.0f, 3.0f};
  EXPECT_EQ(top1(a, 4), 1);
  const float b[] = {0.1f, kNaN, 9.0f};
  EXPECT_EQ(top1(b, 3), -1);  // a NaN anywhere: no top-1
  const float c[] = {0.1f, kInf, 9.0f};
  EXPECT_EQ(top1(c, 3), 1);          // +Inf is a number for top-1...
  EXPECT_TRUE(has_nonfinite(c, 3));  // ...but a row holding it is an SDC
  EXPECT_EQ(top1(a, 0), -1);
}

TEST(SdcMetric, DefaultIsTop1ForClassifierShapedOutputsOnly) {
  EXPECT_EQ(default_sdc_metric({64, 10}).kind, SdcMetric::Kind::kTop1);
  EXPECT_EQ(default_sdc_metric({64, 1}).kind, SdcMetric::Kind::kRelLinf);
  EXPECT_EQ(default_sdc_metric({64, 3, 8, 8}).kind, SdcMetric::Kind::kRelLinf);
  EXPECT_EQ(default_sdc_metric({64}).kind, SdcMetric::Kind::kRelLinf);
  EXPECT_DOUBLE_EQ(default_sdc_metric({64, 1}).threshold, 1e-3);
}

TEST(SdcMetric, Top1ScoresAgainstTheGoldenAnswer) {
  OutputScore s("logits", parse_sdc_metric("top1"), 3);
  const float golden[] = {1, 2, 0, 5, 1, 1};  // top-1: 1, 0
  s.add_golden(golden, 0, 2);
  s.finish_golden();
  EXPECT_EQ(s.golden_top1(), (std::vector<int64_t>{1, 0}));
  const float same[] = {0, 9, 1};
  const float moved[] = {9, 0, 1};
  const float nan_row[] = {0, 9, kNaN};
  const float inf_row[] = {0, kInf, 1};
  int64_t t = -7;
  EXPECT_FALSE(s.is_sdc(same, 0, &t));
  EXPECT_EQ(t, 1);
  EXPECT_TRUE(s.is_sdc(moved, 0));
  EXPECT_FALSE(s.is_sdc(moved, 1));
  EXPECT_TRUE(s.is_sdc(nan_row, 0));  // NaN/Inf: always an SDC
  EXPECT_TRUE(s.is_sdc(inf_row, 0));  // even with the right top-1
}

TEST(SdcMetric, RelLinfDividesByTheGoldenRangeOverAllSamples) {
  // One value per sample ([N, 1]): the range is across samples (0..2).
  OutputScore s("score", parse_sdc_metric("rel-linf:0.01"), 1);
  const float golden[] = {0.0f, 2.0f, 1.0f};
  s.add_golden(golden, 0, 3);
  s.finish_golden();
  const float close[] = {1.019f};  // error 0.019 / range 2 < 0.01
  const float far[] = {1.03f};     // 0.03 / 2 > 0.01
  EXPECT_FALSE(s.is_sdc(close, 2));
  EXPECT_TRUE(s.is_sdc(far, 2));
  const float nan_row[] = {kNaN};
  EXPECT_TRUE(s.is_sdc(nan_row, 2));
  // A constant golden output: divided by its magnitude.
  OutputScore c("c", parse_sdc_metric("rel-linf"), 1);
  const float flat[] = {4.0f, 4.0f};
  c.add_golden(flat, 0, 2);
  c.finish_golden();
  const float off[] = {4.01f};  // 0.01 / 4 > 1e-3
  const float on[] = {4.002f};  // 0.002 / 4 < 1e-3
  EXPECT_TRUE(c.is_sdc(off, 0));
  EXPECT_FALSE(c.is_sdc(on, 1));
}

TEST(SdcMetric, GoldenRowsWithNaNAreCountedAndNeverMatch) {
  OutputScore s("y", parse_sdc_metric("rel-linf"), 2);
  const float golden[] = {1, kNaN, 0, 1};
  s.add_golden(golden, 0, 2);
  s.finish_golden();
  EXPECT_EQ(s.golden_nonfinite(), 1);
  const float row[] = {1, 0};
  EXPECT_TRUE(s.is_sdc(row, 0));
  const float row1[] = {0, 1};
  EXPECT_FALSE(s.is_sdc(row1, 1));
}

TEST(SdcMetric, ParsesTheFlagAndRefusesMistakes) {
  EXPECT_EQ(parse_sdc_metric("rel-linf:1e-4").threshold, 1e-4);
  EXPECT_EQ(parse_sdc_metric("rel-linf:1e-4").name(), "rel-linf:0.0001");
  auto error_of = [](const std::vector<std::string>& v) {
    try {
      (void)parse_sdc_metrics(v);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of({"top5"}).find("--sdc-metric 'top5'"), std::string::npos);
  EXPECT_NE(error_of({"rel-linf:-1"}).find("above 0"), std::string::npos);
  EXPECT_NE(error_of({"rel-linf:abc"}).find("'abc'"), std::string::npos);
  EXPECT_NE(error_of({"top1", "rel-linf"}).find("twice"), std::string::npos);
  EXPECT_NE(error_of({"y=top1", "y=rel-linf"}).find("'y' is given twice"), std::string::npos);
  const SdcMetricChoice c = parse_sdc_metrics({"rel-linf:0.5", "logits=top1"});
  EXPECT_EQ(c.for_output("logits", {8, 1}).kind, SdcMetric::Kind::kTop1);
  EXPECT_EQ(c.for_output("other", {8, 10}).name(), "rel-linf:0.5");
  EXPECT_EQ(parse_sdc_metrics({}).for_output("o", {8, 10}).kind, SdcMetric::Kind::kTop1);
  try {
    check_sdc_outputs(c, {"score", "feat"});
    FAIL() << "an unknown output must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no output named 'logits'"), std::string::npos);
  }
}

}  // namespace
}  // namespace save
