// What counts as a silent data corruption (SDC) of one sample: the one
// scoring rule campaigns, `save sweep` and `save run`'s accuracy use.
//
// Per model output, a metric compares a faulty output row (one sample's
// part of the output) with the golden (fault-free) one:
//   top1      the top-1 index differs (classifier-shaped outputs, [N, C]
//             with C > 1: the default for them);
//   rel-linf  max |y - y0| over the row, divided by the range (max - min) of
//             the golden output over every sample, exceeds THRESH (default
//             1e-3; the default for every other float output). A golden
//             output with no range is divided by its largest magnitude, and
//             by 1 when that is 0 too.
// The NaN rule, the same everywhere: top1() of a row holding a NaN is -1,
// which agrees with no golden answer and no label (+-Inf are ordinary
// numbers for top-1); and a faulty row holding a NaN or an Inf is an SDC
// under every metric, whatever its top-1 or error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/row_rules.hpp"  // top1, has_nonfinite
#include "core/tensor.hpp"

namespace save {

struct SdcMetric {
  enum class Kind { kTop1, kRelLinf } kind = Kind::kTop1;
  double threshold = 1e-3;   // rel-linf only
  std::string name() const;  // "top1", "rel-linf:0.001"
  bool operator==(const SdcMetric&) const = default;
};

// "top1", "rel-linf" or "rel-linf:THRESH" (THRESH a finite number > 0);
// Error naming --sdc-metric otherwise.
SdcMetric parse_sdc_metric(const std::string& text);

// The automatic choice for an output whose batch-`rows` shape is `shape`:
// top1 for [rows, C] with C > 1, rel-linf:1e-3 otherwise.
SdcMetric default_sdc_metric(const Shape& shape);

// --sdc-metric values: "METRIC" (every output) or "NAME=METRIC" (one
// output), repeatable; a NAME= entry wins over a bare one.
struct SdcMetricChoice {
  bool all_set = false;
  SdcMetric all;
  std::map<std::string, SdcMetric> by_output;
  bool empty() const { return !all_set && by_output.empty(); }
  // The metric for output `name` of batch shape `shape`.
  SdcMetric for_output(const std::string& name, const Shape& shape) const;
};
// Error on a malformed value or an output named twice. Output names are
// checked against the model by the campaign (check_outputs).
SdcMetricChoice parse_sdc_metrics(const std::vector<std::string>& values);
// Error naming the output when a NAME= entry names no output of `outputs`.
void check_sdc_outputs(const SdcMetricChoice& c, const std::vector<std::string>& outputs);

// The golden side of one output, for scoring faulty rows against it.
class OutputScore {
 public:
  OutputScore(std::string name, SdcMetric metric, int64_t row_size)
      : name_(std::move(name)), metric_(metric), row_(row_size) {}
  const std::string& name() const { return name_; }
  const SdcMetric& metric() const { return metric_; }
  int64_t row_size() const { return row_; }

  // Records the golden rows of samples [first, first + rows) from `p`.
  void add_golden(const float* p, int64_t first, int64_t rows);
  // Sets the golden top-1 answers directly (a campaign's cached ones).
  void set_golden_top1(std::vector<int64_t> top1) { top1_ = std::move(top1); }
  // Call once every golden row is in (rel-linf: the golden range).
  void finish_golden();
  const std::vector<int64_t>& golden_top1() const { return top1_; }
  // Golden rows that hold a NaN/Inf (such a sample is an SDC in every
  // faulty run: the model's own output there cannot be matched).
  int64_t golden_nonfinite() const { return golden_nonfinite_; }

  // Whether the faulty row `p` of sample `sample` is an SDC; `top1_out`
  // gets the row's top-1 (for accuracy) when not null.
  bool is_sdc(const float* p, int64_t sample, int64_t* top1_out = nullptr) const;

 private:
  std::string name_;
  SdcMetric metric_;
  int64_t row_ = 0;
  std::vector<int64_t> top1_;  // top1
  std::vector<float> golden_;  // rel-linf: every golden row
  double scale_ = 1;           // rel-linf: the divisor
  int64_t golden_nonfinite_ = 0;
};

}  // namespace save
