// The accuracy plot keeps every series visible: the product's series (save)
// is drawn last, series drawn earlier are wider (halos under those that
// agree with them), and a one-trial run claims no min-max band.
#include "eval/svg.hpp"

#include <gtest/gtest.h>

namespace save::eval {
namespace {

using json = nlohmann::json;

json series(const std::string& mode, int64_t trials, double acc_at_64) {
  json pts = json::array();
  for (auto [flips, acc] : {std::pair<int64_t, double>{0, 0.9}, {64, acc_at_64}})
    pts.push_back({{"flips", flips},
                   {"trials", trials},
                   {"accuracy_mean", acc},
                   {"accuracy_min", acc - 0.01},
                   {"accuracy_max", acc + 0.01},
                   {"sdc_rate", 0.0},
                   {"sdc_rate_max", 0.0}});
  return {{"mode", mode},        {"pattern", "random"}, {"scenario", "accumulated"},
          {"target", "weights"}, {"bits_per_word", 1},  {"points", pts}};
}

json summary(int64_t trials) {
  // save listed first and agreeing with ecc: the order of drawing matters.
  return {{"model", "m.onnx"},
          {"samples", 8},
          {"seed", 1},
          {"golden_accuracy", 0.9},
          {"series",
           {series("save", trials, 0.9), series("ecc", trials, 0.9), series("none", trials, 0.1)}}};
}

// Stroke width of the n-th polyline in the document.
double nth_width(const std::string& svg, int n, std::string* color = nullptr) {
  size_t at = 0;
  for (int i = 0; i <= n; ++i) at = svg.find("<polyline", at + 1);
  EXPECT_NE(at, std::string::npos);
  size_t c = svg.find("stroke=\"", at) + 8;
  if (color) *color = svg.substr(c, 7);
  size_t w = svg.find("stroke-width=\"", at) + 14;
  return std::stod(svg.substr(w));
}

TEST(AccuracySvg, ProductSeriesOnTopAndEarlierSeriesWider) {
  const std::string svg = accuracy_svg(summary(1));
  std::string first, last;
  const double w0 = nth_width(svg, 0, &first), w1 = nth_width(svg, 1),
               w2 = nth_width(svg, 2, &last);
  EXPECT_GT(w0, w1);
  EXPECT_GT(w1, w2);
  EXPECT_EQ(last, "#1f77b4");  // save (the first series' colour) drawn last
  EXPECT_NE(first, last);
}

TEST(AccuracySvg, BandOnlyWithMoreThanOneTrial) {
  const std::string one = accuracy_svg(summary(1));
  EXPECT_EQ(one.find("<polygon"), std::string::npos);
  EXPECT_NE(one.find("one trial per point: no band"), std::string::npos);
  const std::string three = accuracy_svg(summary(3));
  EXPECT_NE(three.find("<polygon"), std::string::npos);
  EXPECT_NE(three.find("band: min-max over trials"), std::string::npos);
}

}  // namespace
}  // namespace save::eval
