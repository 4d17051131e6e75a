#include "eval/sdc_metric.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace save {

std::string SdcMetric::name() const {
  return kind == Kind::kTop1 ? "top1" : fmt::format("rel-linf:{:g}", threshold);
}

SdcMetric parse_sdc_metric(const std::string& text) {
  SdcMetric m;
  if (text == "top1") return m;
  m.kind = SdcMetric::Kind::kRelLinf;
  if (text == "rel-linf") return m;
  const std::string prefix = "rel-linf:";
  SAVE_CHECK(text.rfind(prefix, 0) == 0,
             "--sdc-metric '{}': expected top1, rel-linf or rel-linf:THRESH (e.g. rel-linf:1e-3)",
             text);
  const std::string num = text.substr(prefix.size());
  char* end = nullptr;
  m.threshold = std::strtod(num.c_str(), &end);
  SAVE_CHECK(!num.empty() && end == num.c_str() + num.size() && std::isfinite(m.threshold) &&
                 m.threshold > 0,
             "--sdc-metric '{}': the threshold '{}' must be a finite number above 0", text, num);
  return m;
}

SdcMetric default_sdc_metric(const Shape& shape) {
  SdcMetric m;
  if (shape.size() == 2 && shape[1] > 1) return m;
  m.kind = SdcMetric::Kind::kRelLinf;
  return m;
}

SdcMetric SdcMetricChoice::for_output(const std::string& name, const Shape& shape) const {
  if (auto it = by_output.find(name); it != by_output.end()) return it->second;
  return all_set ? all : default_sdc_metric(shape);
}

SdcMetricChoice parse_sdc_metrics(const std::vector<std::string>& values) {
  SdcMetricChoice c;
  for (const std::string& v : values) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos) {
      SAVE_CHECK(!c.all_set,
                 "--sdc-metric: a metric for every output is given twice ('{}' and "
                 "'{}')",
                 c.all.name(), v);
      c.all = parse_sdc_metric(v);
      c.all_set = true;
      continue;
    }
    const std::string name = v.substr(0, eq);
    SAVE_CHECK(!name.empty(), "--sdc-metric '{}': expected METRIC or OUTPUT=METRIC", v);
    SAVE_CHECK(c.by_output.emplace(name, parse_sdc_metric(v.substr(eq + 1))).second,
               "--sdc-metric: output '{}' is given twice", name);
  }
  return c;
}

void check_sdc_outputs(const SdcMetricChoice& c, const std::vector<std::string>& outputs) {
  for (const auto& [name, m] : c.by_output)
    SAVE_CHECK(std::find(outputs.begin(), outputs.end(), name) != outputs.end(),
               "--sdc-metric {}={}: the model has no output named '{}' (its outputs: {})", name,
               m.name(), name, fmt::join(outputs, ", "));
}

void OutputScore::add_golden(const float* p, int64_t first, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) golden_nonfinite_ += has_nonfinite(p + r * row_, row_);
  if (metric_.kind == SdcMetric::Kind::kTop1) {
    if (static_cast<int64_t>(top1_.size()) < first + rows)
      top1_.resize(static_cast<size_t>(first + rows), -1);
    for (int64_t r = 0; r < rows; ++r)
      top1_[static_cast<size_t>(first + r)] = top1(p + r * row_, row_);
    return;
  }
  const size_t need = static_cast<size_t>((first + rows) * row_);
  if (golden_.size() < need) golden_.resize(need, 0.0f);
  std::copy(p, p + rows * row_, golden_.begin() + static_cast<std::ptrdiff_t>(first * row_));
}

void OutputScore::finish_golden() {
  if (metric_.kind != SdcMetric::Kind::kRelLinf) return;
  double lo = INFINITY, hi = -INFINITY, mag = 0;
  for (float v : golden_)
    if (std::isfinite(v)) {
      lo = std::min(lo, static_cast<double>(v));
      hi = std::max(hi, static_cast<double>(v));
      mag = std::max(mag, std::fabs(static_cast<double>(v)));
    }
  scale_ = hi > lo ? hi - lo : (mag > 0 ? mag : 1.0);
}

bool OutputScore::is_sdc(const float* p, int64_t sample, int64_t* top1_out) const {
  const int64_t t = top1(p, row_);
  if (top1_out) *top1_out = t;
  if (has_nonfinite(p, row_)) return true;
  if (metric_.kind == SdcMetric::Kind::kTop1) {
    const int64_t want = top1_[static_cast<size_t>(sample)];
    return t < 0 || t != want;
  }
  const float* g = golden_.data() + sample * row_;
  double err = 0;
  for (int64_t i = 0; i < row_; ++i) {
    if (!std::isfinite(g[i])) return true;  // see golden_nonfinite()
    err = std::max(err, std::fabs(static_cast<double>(p[i]) - static_cast<double>(g[i])));
  }
  return err / scale_ > metric_.threshold;
}

}  // namespace save
