#include "eval/report.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace save::eval {

namespace {

// series id -> flips -> that point's trials, ordered by trial index so sums
// run in the same order however the log was written.
using Grouped = std::map<std::string, std::map<int64_t, std::vector<const TrialResult*>>>;

Grouped group(const std::vector<TrialResult>& records) {
  Grouped g;
  for (const TrialResult& r : records) g[r.series.id()][r.flips].push_back(&r);
  for (auto& [id, points] : g)
    for (auto& [f, trials] : points)
      std::sort(trials.begin(), trials.end(),
                [](const TrialResult* a, const TrialResult* b) { return a->trial < b->trial; });
  return g;
}

double mean_sdc(const std::vector<const TrialResult*>& ts) {
  double s = 0;
  for (const TrialResult* t : ts) s += t->sdc_rate;
  return s / static_cast<double>(ts.size());
}

nlohmann::json point_json(int64_t flips, const std::vector<const TrialResult*>& ts) {
  double n = static_cast<double>(ts.size());
  nlohmann::json p;
  p["flips"] = flips;
  p["trials"] = ts.size();
  bool labelled = ts.front()->accuracy.has_value();
  double acc_sum = 0, acc_min = 1, acc_max = 0, sdc_max = 0, bits = 0;
  int64_t nan_inf = 0, det = 0, fa = 0, rec = 0, unc = 0, restarts = 0, reliable = 0, kerr = 0;
  for (const TrialResult* t : ts) {
    if (labelled && t->accuracy) {
      acc_sum += *t->accuracy;
      acc_min = std::min(acc_min, *t->accuracy);
      acc_max = std::max(acc_max, *t->accuracy);
    }
    sdc_max = std::max(sdc_max, t->sdc_rate);
    bits += static_cast<double>(t->bits_flipped);
    nan_inf += t->nan_inf;
    det += t->detections;
    fa += t->false_alarms;
    rec += t->recoveries;
    unc += t->uncorrectable;
    kerr += t->kernel_errors;
    restarts += t->restarts;
    reliable = std::max(reliable, t->reliable_bytes);
  }
  nlohmann::json null;
  p["accuracy_mean"] = labelled ? nlohmann::json(acc_sum / n) : null;
  p["accuracy_min"] = labelled ? nlohmann::json(acc_min) : null;
  p["accuracy_max"] = labelled ? nlohmann::json(acc_max) : null;
  p["sdc_rate"] = mean_sdc(ts);
  p["sdc_rate_max"] = sdc_max;
  // Per scored output: the mean share of samples that are an SDC there.
  std::map<std::string, double> by_output;
  for (const TrialResult* t : ts)
    for (const auto& [name, k] : t->sdc_by_output)
      by_output[name] +=
          static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, t->samples)) / n;
  if (!by_output.empty()) p["sdc_rate_by_output"] = by_output;
  p["nan_inf"] = nan_inf;
  p["detections"] = det;
  p["false_alarms"] = fa;
  p["recoveries"] = rec;
  p["uncorrectable"] = unc;
  p["kernel_errors"] = kerr;
  p["restarts"] = restarts;
  p["reliable_bytes"] = reliable;
  p["bits_flipped_mean"] = bits / n;
  return p;
}

std::string num(const nlohmann::json& v, const char* spec = "{:.6g}") {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return fmt::format(fmt::runtime(spec), v.get<double>());
}

std::string pct(const nlohmann::json& v) {
  return v.is_null() ? "n/a" : fmt::format("{:.2f}%", v.get<double>() * 100);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string m = line.substr(colon + 1);
        m.erase(0, m.find_first_not_of(" \t"));
        return m;
      }
    }
  return "unknown";
}

}  // namespace

nlohmann::json machine_info(int threads) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return {{"hostname", std::string(host)},
          {"cpu", cpu_model()},
          {"threads", threads > 0 ? threads : omp_get_max_threads()}};
}

nlohmann::json build_summary(const nlohmann::json& header,
                             const std::vector<TrialResult>& records) {
  nlohmann::json s = header;
  s["series"] = nlohmann::json::array();
  for (const auto& [id, points] : group(records)) {
    nlohmann::json js = points.begin()->second.front()->series.to_json();
    js["series"] = id;
    js["points"] = nlohmann::json::array();
    for (const auto& [f, ts] : points) js["points"].push_back(point_json(f, ts));
    s["series"].push_back(std::move(js));
  }
  return s;
}

nlohmann::json build_timings(const std::vector<TrialResult>& records) {
  nlohmann::json out;
  out["note"] =
      "wall-clock measurements; latency_ms is per batch (median over trials of each "
      "trial's median), throughput_per_s counts the whole trial, harness included";
  out["series"] = nlohmann::json::array();
  for (const auto& [id, points] : group(records)) {
    nlohmann::json js = {{"series", id}, {"points", nlohmann::json::array()}};
    for (const auto& [f, ts] : points) {
      std::vector<double> lat;
      double thr = 0, secs = 0;
      for (const TrialResult* t : ts) {
        lat.push_back(t->latency_ms);
        thr += t->throughput_per_s;
        secs += t->seconds;
      }
      std::sort(lat.begin(), lat.end());
      size_t m = lat.size() / 2;
      double med = lat.size() % 2 ? lat[m] : (lat[m - 1] + lat[m]) / 2;
      js["points"].push_back({{"flips", f},
                              {"latency_ms", med},
                              {"accurate_latency_ms", med * (1 + mean_sdc(ts))},
                              {"throughput_per_s", thr / static_cast<double>(ts.size())},
                              {"seconds", secs}});
    }
    out["series"].push_back(std::move(js));
  }
  return out;
}

nlohmann::json merge_timings(const nlohmann::json& summary, const nlohmann::json& timings) {
  nlohmann::json c = summary;
  std::map<std::pair<std::string, int64_t>, const nlohmann::json*> by_point;
  for (const auto& s : timings["series"])
    for (const auto& p : s["points"])
      by_point[{s["series"].get<std::string>(), p["flips"].get<int64_t>()}] = &p;
  for (auto& s : c["series"])
    for (auto& p : s["points"]) {
      auto it = by_point.find({s["series"].get<std::string>(), p["flips"].get<int64_t>()});
      if (it == by_point.end()) continue;
      for (const char* k : {"latency_ms", "accurate_latency_ms", "throughput_per_s", "seconds"})
        p[k] = (*it->second)[k];
    }
  return c;
}

std::string summary_csv(const nlohmann::json& c) {
  static const char* kCols[] = {"flips",           "trials",
                                "accuracy_mean",   "accuracy_min",
                                "accuracy_max",    "sdc_rate",
                                "sdc_rate_max",    "nan_inf",
                                "detections",      "false_alarms",
                                "recoveries",      "bits_flipped_mean",
                                "latency_ms",      "accurate_latency_ms",
                                "throughput_per_s"};
  std::string out = "mode,pattern,scenario,target,bits_per_word,burst_length";
  for (const char* k : kCols) out += fmt::format(",{}", k);
  out += "\n";
  for (const auto& s : c["series"])
    for (const auto& p : s["points"]) {
      out += fmt::format("{},{},{},{},{},{}", s["mode"].get<std::string>(),
                         s["pattern"].get<std::string>(), s["scenario"].get<std::string>(),
                         s["target"].get<std::string>(), num(s["bits_per_word"]),
                         num(s["burst_length"]));
      for (const char* k : kCols) {
        out += ',';
        if (p.contains(k)) out += num(p[k], "{:.9g}");
      }
      out += "\n";
    }
  return out;
}

std::string report_markdown(const nlohmann::json& c) {
  std::string md = "# Fault-injection campaign\n\n";
  md += fmt::format("- model: `{}` (sha256 `{}`)\n", c["model"].get<std::string>(),
                    c["model_sha256"].get<std::string>());
  md += fmt::format("- inputs: `{}`, {} samples, batch {}\n", c["data"].get<std::string>(),
                    num(c["samples"]), num(c["batch"]));
  md += fmt::format("- seed: {}\n", num(c["seed"]));
  md += fmt::format("- fault-free accuracy: {}\n", pct(c["golden_accuracy"]));
  if (c.contains("sdc_metrics") && c["sdc_metrics"].is_object()) {
    // How an SDC is judged, per output (eval/sdc_metric.hpp).
    std::string m;
    for (const auto& [name, metric] : c["sdc_metrics"].items())
      m += fmt::format("{}`{}`: {}", m.empty() ? "" : ", ", name, metric.get<std::string>());
    md += fmt::format("- SDC metric per output: {} (a NaN/Inf is always an SDC)\n", m);
  }
  const auto& m = c["machine"];
  md += fmt::format("- machine: {}, {}, {} threads\n\n", m["hostname"].get<std::string>(),
                    m["cpu"].get<std::string>(), num(m["threads"]));
  md +=
      "| mode | pattern | scenario | target | flips | trials | accuracy mean (min - max) | "
      "SDC rate | NaN/Inf | detections | false alarms | recoveries | latency ms/batch | "
      "AccurateLatency ms |\n";
  md += "|---|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : c["series"]) {
    std::string pattern = s["pattern"].get<std::string>();
    if (s["bits_per_word"].get<int>() > 1)
      pattern += fmt::format(" (k={})", num(s["bits_per_word"]));
    for (const auto& p : s["points"]) {
      std::string acc = p["accuracy_mean"].is_null()
                            ? "n/a"
                            : fmt::format("{} ({} - {})", pct(p["accuracy_mean"]),
                                          pct(p["accuracy_min"]), pct(p["accuracy_max"]));
      md += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
          s["mode"].get<std::string>(), pattern, s["scenario"].get<std::string>(),
          s["target"].get<std::string>(), num(p["flips"]), num(p["trials"]), acc,
          pct(p["sdc_rate"]), num(p["nan_inf"]), num(p["detections"]), num(p["false_alarms"]),
          num(p["recoveries"]), p.contains("latency_ms") ? num(p["latency_ms"], "{:.3f}") : "",
          p.contains("accurate_latency_ms") ? num(p["accurate_latency_ms"], "{:.3f}") : "");
    }
  }
  // SDC rate per output, when more than one output is scored.
  if (c.contains("sdc_metrics") && c["sdc_metrics"].size() > 1) {
    std::vector<std::string> names;
    for (const auto& [name, metric] : c["sdc_metrics"].items()) names.push_back(name);
    md += "\nSDC rate by output:\n\n| mode | scenario | flips |";
    for (const std::string& n : names) md += fmt::format(" `{}` |", n);
    md += "\n|---|---|---:|";
    for (size_t i = 0; i < names.size(); ++i) md += "---:|";
    md += "\n";
    for (const auto& s : c["series"])
      for (const auto& p : s["points"]) {
        md += fmt::format("| {} | {} | {} |", s["mode"].get<std::string>(),
                          s["scenario"].get<std::string>(), num(p["flips"]));
        for (const std::string& n : names)
          md += fmt::format(" {} |",
                            p.contains("sdc_rate_by_output") && p["sdc_rate_by_output"].contains(n)
                                ? pct(p["sdc_rate_by_output"][n])
                                : "n/a");
        md += "\n";
      }
  }
  md +=
      "\nNaN/Inf, detections, false alarms and recoveries are totals over the trials. "
      "AccurateLatency = latency x (1 + SDC rate).\n\n![accuracy vs "
      "flips](accuracy_vs_flips.svg)\n";
  return md;
}

}  // namespace save::eval
