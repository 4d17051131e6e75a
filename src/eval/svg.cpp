#include "eval/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace save::eval {

namespace {

constexpr double kW = 840, kH = 460;  // room on the right for the legend
constexpr double kLeft = 70, kRight = 560, kTop = 40, kBottom = 390;  // plot area
constexpr double kZeroX = kLeft + 25;                                 // where flips = 0 sits
constexpr double kLogLeft = kLeft + 75;                               // where the log axis starts
// Ten, so that every `save eval` mode gets its own.
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                         "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&')
      o += "&amp;";
    else if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

// The document, a white background and the title centred over the plot
// area [kLeft, plot_right].
std::string svg_open(double width, double plot_right, const std::string& title) {
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      width, kH, width, kH);
  o += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
                   (kLeft + plot_right) / 2, esc(title));
  return o;
}

struct Pt {
  double flips, mean, lo, hi;
};

}  // namespace

std::string accuracy_svg(const nlohmann::json& summary) {
  bool labelled = !summary.value("golden_accuracy", nlohmann::json()).is_null();
  // Points per series: accuracy, or 1 - SDC rate without labels.
  std::vector<std::pair<std::string, std::vector<Pt>>> series;
  std::vector<bool> is_product;  // SAVE's own series: drawn on top
  bool has_band = false;         // some point has more than one trial
  std::set<double> positive;
  double ymin = 1;
  for (const auto& s : summary["series"]) {
    std::vector<Pt> pts;
    is_product.push_back(s.value("mode", std::string()) == "save");
    for (const auto& p : s["points"]) {
      has_band = has_band || p.value("trials", int64_t{1}) > 1;
      Pt q{p["flips"].get<double>(), 0, 0, 0};
      if (labelled && !p["accuracy_mean"].is_null()) {
        q.mean = p["accuracy_mean"].get<double>();
        q.lo = p["accuracy_min"].get<double>();
        q.hi = p["accuracy_max"].get<double>();
      } else {
        q.mean = 1 - p["sdc_rate"].get<double>();
        q.lo = 1 - p["sdc_rate_max"].get<double>();
        q.hi = q.mean;
      }
      if (q.flips > 0) positive.insert(q.flips);
      ymin = std::min(ymin, q.lo);
      pts.push_back(q);
    }
    std::string label =
        fmt::format("{} {}/{}/{}", s["mode"].get<std::string>(), s["pattern"].get<std::string>(),
                    s["scenario"].get<std::string>(), s["target"].get<std::string>());
    if (s["bits_per_word"].get<int>() > 1)
      label += fmt::format(" k={}", s["bits_per_word"].get<int>());
    series.emplace_back(label, std::move(pts));
  }
  // y from the lowest value rounded down to a tenth, to 1.
  double y0 = std::max(0.0, std::floor(ymin * 10 - 1e-9) / 10), y1 = 1;
  if (y1 - y0 < 0.1) y0 = std::max(0.0, y1 - 0.1);
  double lmin = positive.empty() ? 0 : std::floor(std::log10(*positive.begin()));
  double lmax = positive.empty() ? 1 : std::ceil(std::log10(*positive.rbegin()));
  if (lmax <= lmin) lmax = lmin + 1;
  auto x_of = [&](double f) {
    if (f <= 0) return kZeroX;
    return kLogLeft + (std::log10(f) - lmin) / (lmax - lmin) * (kRight - kLogLeft);
  };
  auto y_of = [&](double a) { return kBottom - (a - y0) / (y1 - y0) * (kBottom - kTop); };

  std::string o = svg_open(kW, kRight,
                           fmt::format("{} under bit flips ({} samples, seed {})",
                                       summary.value("model", std::string("model")),
                                       summary.value("samples", 0), summary.value("seed", 0)));
  // Grid and y ticks every tenth (or hundredth on a short axis).
  double step = (y1 - y0) > 0.3 ? 0.1 : 0.02;
  for (double a = y0; a <= y1 + 1e-9; a += step) {
    double y = y_of(a);
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", kLeft,
        y, kRight, y);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.2f}</text>\n",
                     kLeft - 6, y + 4, a);
  }
  // x ticks: 0 alone, then powers of ten; a break mark between them.
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">0</text>\n", kZeroX,
                   kBottom + 18);
  for (double e = lmin; e <= lmax + 1e-9; e += 1) {
    double x = x_of(std::pow(10.0, e));
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", x,
        kTop, x, kBottom);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x,
                     kBottom + 18, fmt::format("{:g}", std::pow(10.0, e)));
  }
  double bx = (kZeroX + kLogLeft) / 2;
  o += fmt::format("<path d=\"M{:.1f} {:.1f} l6 -10 M{:.1f} {:.1f} l6 -10\" stroke=\"black\"/>\n",
                   bx - 6, kBottom + 5, bx, kBottom + 5);
  o += fmt::format("<path d=\"M{:.1f} {:.1f} V{:.1f} H{:.1f}\" fill=\"none\" stroke=\"black\"/>\n",
                   kLeft, kTop, kBottom, kRight);
  o += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">bit flips per trial "
      "(log scale; 0 = fault-free)</text>\n",
      (kLeft + kRight) / 2, kBottom + 42);
  o += fmt::format(
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      (kTop + kBottom) / 2, labelled ? "top-1 accuracy" : "agreement with fault-free top-1");
  // Series that agree (save and ecc both at fault-free accuracy, none under
  // dmr and tmr) would hide each other: each series is drawn wider than
  // the ones after it, so the ones below show as coloured halos, and the
  // product's own series (save) is drawn last, on top. A band (min-max
  // over trials) only where some point has more than one trial.
  std::vector<size_t> order;
  for (size_t i = 0; i < series.size(); ++i)
    if (!is_product[i]) order.push_back(i);
  for (size_t i = 0; i < series.size(); ++i)
    if (is_product[i]) order.push_back(i);
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const char* color = kColors[i % std::size(kColors)];
    const auto& pts = series[i].second;
    const double above = static_cast<double>(order.size() - 1 - k);  // series drawn after it
    const double width = 2 + 1.1 * above, radius = 3 + 0.7 * above;
    std::string band, line;
    for (const Pt& p : pts) band += fmt::format("{:.1f},{:.1f} ", x_of(p.flips), y_of(p.hi));
    for (auto it = pts.rbegin(); it != pts.rend(); ++it)
      band += fmt::format("{:.1f},{:.1f} ", x_of(it->flips), y_of(it->lo));
    for (const Pt& p : pts) line += fmt::format("{:.1f},{:.1f} ", x_of(p.flips), y_of(p.mean));
    if (has_band)
      o += fmt::format(
          "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>\n", band,
          color);
    o += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.1f}\" "
        "stroke-linejoin=\"round\"/>\n",
        line, color, width);
    for (const Pt& p : pts)
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\"/>\n",
                       x_of(p.flips), y_of(p.mean), radius, color);
  }
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    double ly = kTop + 10 + 20 * static_cast<double>(i);
    o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"10\" fill=\"{}\"/>\n",
                     kRight + 15, ly - 9, color);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", kRight + 35, ly,
                     esc(series[i].first));
  }
  double ly = kTop + 10 + 20 * static_cast<double>(series.size()) + 10;
  o += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555\">{}</text>\n", kRight + 15, ly,
      has_band ? "line: mean; band: min-max over trials" : "one trial per point: no band");
  o += "</svg>\n";
  return o;
}

std::string bar_svg(const BarChart& c) {
  constexpr double kBar = 12, kGap = 24, kMinPlot = 360;
  double group = static_cast<double>(c.series.size()) * kBar + kGap;
  double right = kLeft + std::max(kMinPlot, static_cast<double>(c.categories.size()) * group);
  double width = right + 230;
  double vmax = 0;
  for (const auto& row : c.values)
    for (const auto& v : row)
      if (v) vmax = std::max(vmax, *v);
  // y from 0 to 1, 2 or 5 x 10^k above the largest bar (room for its label).
  double top = 1;
  if (vmax > 0) {
    double p = std::pow(10.0, std::floor(std::log10(vmax * 1.15)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
      if (m * p >= vmax * 1.15) {
        top = m * p;
        break;
      }
  }
  auto y_of = [&](double v) { return kBottom - v / top * (kBottom - kTop); };
  std::string o = svg_open(width, right, c.title);
  for (int i = 0; i <= 5; ++i) {
    double v = top * i / 5, y = y_of(v);
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", kLeft,
        y, right, y);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", kLeft - 6,
                     y + 4, v);
  }
  o += fmt::format("<path d=\"M{:.1f} {:.1f} V{:.1f} H{:.1f}\" fill=\"none\" stroke=\"black\"/>\n",
                   kLeft, kTop, kBottom, right);
  o += fmt::format(
      "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      (kTop + kBottom) / 2, esc(c.y_label));
  for (size_t k = 0; k < c.categories.size(); ++k) {
    double x0 = kLeft + kGap / 2 + static_cast<double>(k) * group;
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                     x0 + (group - kGap) / 2, kBottom + 18, esc(c.categories[k]));
    for (size_t s = 0; s < c.series.size(); ++s) {
      double x = x0 + static_cast<double>(s) * kBar;
      const std::optional<double>& v =
          k < c.values[s].size() ? c.values[s][k] : std::optional<double>();
      std::string label = v ? fmt::format("{:.3g}", *v) : "n/a";
      double y = v ? y_of(*v) : kBottom;
      if (v)
        o += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n", x,
            y, kBar - 1, kBottom - y, kColors[s % std::size(kColors)]);
      o += fmt::format(
          "<text transform=\"translate({:.1f} {:.1f}) rotate(-90)\" font-size=\"9\" "
          "fill=\"#333\">{}</text>\n",
          x + kBar / 2 + 3, y - 3, label);
    }
  }
  for (size_t s = 0; s < c.series.size(); ++s) {
    double ly = kTop + 10 + 20 * static_cast<double>(s);
    o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"10\" fill=\"{}\"/>\n",
                     right + 15, ly - 9, kColors[s % std::size(kColors)]);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", right + 35, ly,
                     esc(c.series[s]));
  }
  if (!c.note.empty())
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#555\">{}</text>\n", right + 15,
                     kTop + 20 + 20 * static_cast<double>(c.series.size()), esc(c.note));
  o += "</svg>\n";
  return o;
}

}  // namespace save::eval
