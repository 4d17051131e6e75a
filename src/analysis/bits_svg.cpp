#include "analysis/bits_svg.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace save {

namespace {

// Layer names go into SVG text: characters with a meaning in XML are
// replaced (names are labels, not data to round-trip).
std::string label(const std::string& name, size_t max_chars = 40) {
  std::string s = name.size() > max_chars ? "…" + name.substr(name.size() - (max_chars - 1)) : name;
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '&' || c == '<' || c == '>' || c == '"'; }, '_');
  return s;
}

}  // namespace

std::string bits_per_layer_svg(const std::vector<LayerBits>& layers, const std::string& title) {
  // Fixed bar width: the chart grows with the layer count.
  const double left = 70, top = 50, plot_h = 300, bar = 14, gap = 4;
  const double plot_w = std::max(240.0, static_cast<double>(layers.size()) * (bar + gap));
  const double width = left + plot_w + 190, height = top + plot_h + 200;
  const char* colors[] = {"#2ca02c", "#1f77b4", "#d62728"};  // robust, ranging, vulnerable
  const char* names[] = {"robust (ignored)", "ranging (range check)", "vulnerable (DMR)"};
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{:.0f}\" y=\"24\" font-size=\"14\">{}</text>\n",
      width, height, left, label(title, 200));
  // y axis: share of the layer's bits.
  for (int t = 0; t <= 4; ++t) {
    const double y = top + plot_h * (1 - t / 4.0);
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}%</text>\n",
        left, y, left + plot_w, y, left - 6, y + 4, t * 25);
  }
  o += fmt::format(
      "<text transform=\"translate(20,{:.1f}) rotate(-90)\" text-anchor=\"middle\">share of the "
      "layer's bits</text>\n",
      top + plot_h / 2);
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerBits& l = layers[i];
    const double total = static_cast<double>(l.robust + l.ranging + l.vulnerable);
    const double x = left + gap / 2 + static_cast<double>(i) * (bar + gap);
    double y = top + plot_h;
    const uint64_t parts[] = {l.robust, l.ranging, l.vulnerable};
    for (int k = 0; k < 3 && total > 0; ++k) {
      const double h = plot_h * static_cast<double>(parts[k]) / total;
      y -= h;
      o += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.2f}\" width=\"{:.0f}\" height=\"{:.2f}\" fill=\"{}\">"
          "<title>{}: {} {:.1f}%</title></rect>\n",
          x, y, bar, h, colors[k], label(l.name), names[k],
          100.0 * static_cast<double>(parts[k]) / total);
    }
    o += fmt::format(
        "<text transform=\"translate({:.1f},{:.1f}) rotate(-60)\" text-anchor=\"end\" "
        "font-size=\"9\">{}</text>\n",
        x + bar / 2 + 3, top + plot_h + 8, label(l.name));
  }
  for (int k = 0; k < 3; ++k) {
    const double y = top + 10 + k * 20;
    o += fmt::format(
        "<rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{:.0f}\" y=\"{:.0f}\">{}</text>\n",
        left + plot_w + 16, y, colors[k], left + plot_w + 34, y + 10, names[k]);
  }
  o += "</svg>\n";
  return o;
}

}  // namespace save
