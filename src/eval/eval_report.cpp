// Rendering of `save eval`'s results (eval/eval_report.hpp).
#include "eval/eval_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "eval/svg.hpp"

namespace save::eval {

namespace fs = std::filesystem;

namespace {

std::string pct(const json& v, int digits = 2) {
  if (v.is_null()) return "n/a";
  return fmt::format("{:.{}f}%", v.get<double>() * 100, digits);
}

std::string num(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return fmt::format("{:.9g}", v.get<double>());
}

std::string bytes_text(int64_t b) {
  if (b < 10 * 1024) return fmt::format("{} B", b);
  if (b < 10 * 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024 * 1024));
}

const json* point_at(const json& mode, const std::string& scenario, int64_t flips) {
  for (const json& p : mode["points"])
    if (p["scenario"] == scenario && p["flips"] == flips) return &p;
  return nullptr;
}

// What "x none" divides by without interleaved timing: the mean of none's
// fault-free latencies over the scenarios (those runs do the same work).
std::optional<double> none_latency(const json& results) {
  double sum = 0;
  int n = 0;
  for (const json& m : results["modes"])
    if (m["mode"] == "none" && m["status"] == "ran")
      for (const json& p : m["points"])
        if (p["flips"] == 0 && p.contains("latency_ms")) sum += p["latency_ms"].get<double>(), ++n;
  if (n == 0 || sum <= 0) return std::nullopt;
  return sum / n;
}

// A mode's own fault-free latency in `scenario`'s campaign (the mean over
// its scenarios when that campaign has no fault-free point).
std::optional<double> own_clean_latency(const json& m, const json& scenario) {
  double sum = 0;
  int n = 0;
  for (const json& p : m["points"])
    if (p["flips"] == 0 && p.contains("latency_ms")) {
      if (p["scenario"] == scenario) return p["latency_ms"].get<double>();
      sum += p["latency_ms"].get<double>(), ++n;
    }
  if (n == 0 || sum <= 0) return std::nullopt;
  return sum / n;
}

}  // namespace

// Adds "x none" and the reliable share to every point. With interleaved
// timing (results["latency"]), a point's x none is the mode's interleaved
// fault-free ratio times what the flips cost it inside its own campaign
// (the point's AccurateLatency over the campaign's fault-free latency, run
// minutes apart at most): machine noise between modes no longer enters.
void add_ratios(json& results) {
  std::optional<double> ref = none_latency(results);
  results["none_latency_ms"] = ref ? json(*ref) : json();
  const json& lat = results["latency"];
  for (json& m : results["modes"]) {
    if (m["status"] != "ran") continue;
    double mem = m["inference_bytes"].get<double>();
    std::optional<double> ratio;
    if (!lat.is_null() && lat["modes"].contains(m["mode"].get<std::string>()))
      ratio = lat["modes"][m["mode"].get<std::string>()]["vs_none"]["median"].get<double>();
    for (json& p : m["points"]) {
      json x;
      if (p.contains("accurate_latency_ms")) {
        std::optional<double> own = own_clean_latency(m, p["scenario"]);
        if (ratio && own)
          x = *ratio * p["accurate_latency_ms"].get<double>() / *own;
        else if (!ratio && ref)
          x = p["accurate_latency_ms"].get<double>() / *ref;
      }
      p["accurate_latency_vs_none"] = x;
      p["reliable_fraction"] = mem > 0 ? json(p["reliable_bytes"].get<double>() / mem) : json();
    }
  }
}

std::string results_csv(const json& r) {
  static const char* kCols[] = {"trials",
                                "accuracy_mean",
                                "accuracy_min",
                                "accuracy_max",
                                "sdc_rate",
                                "nan_inf",
                                "detections",
                                "false_alarms",
                                "recoveries",
                                "uncorrectable",
                                "latency_ms",
                                "accurate_latency_ms",
                                "accurate_latency_vs_none",
                                "reliable_bytes",
                                "reliable_fraction"};
  std::string out = "mode,scenario,target,set,flips,samples";
  for (const char* k : kCols) out += fmt::format(",{}", k);
  out += "\n";
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    std::string mode = m["mode"].get<std::string>();
    for (const json& p : m["points"]) {
      out += fmt::format("{},{},{},,{},{}", mode, p["scenario"].get<std::string>(),
                         p["target"].get<std::string>(), num(p["flips"]), num(r["samples"]));
      for (const char* k : kCols) {
        out += ',';
        if (p.contains(k)) out += num(p[k]);
      }
      out += "\n";
    }
    // OOD rows: fault-free, scenario "ood"; SDC = wrong outputs / samples.
    for (const json& o : m["ood"]) {
      out += fmt::format("{},ood,,{},0,{}", mode, o["set"].get<std::string>(), num(o["samples"]));
      for (const char* k : kCols) {
        std::string key = k;
        out += ",";
        if (key == "trials")
          out += "1";
        else if (o.contains(key))
          out += num(o[key]);
      }
      out += "\n";
    }
  }
  return out;
}

namespace {

// The interleaved timing: per mode, its median latency and its ratio to
// none's with quartiles over the rounds.
std::string latency_md(const json& r) {
  const json& lat = r["latency"];
  if (lat.is_null())
    return "\nNo interleaved timing (`none` did not run, or the campaigns are incomplete): x none "
           "divides by the mean of none's fault-free campaign latencies, measured mode after "
           "mode.\n";
  std::string md = fmt::format(
      "\n## Latency, fault-free, interleaved\n\n{} rounds; in each, every mode runs the same {} "
      "batch(es) once, the order rotating by one mode per round (after one untimed warm-up "
      "pass). ms: median over rounds of the median per batch; x none: median over rounds of "
      "the mode's time over none's in the same round, with quartiles.\n\n| mode | ms/batch | x "
      "none | quartiles | false alarms |\n|---|---:|---:|---|---:|\n",
      num(lat["rounds"]), num(lat["batches"]));
  for (const json& name : lat["context"]["modes"]) {
    const std::string mode = name.get<std::string>();
    const json& m = lat["modes"][mode];
    md += fmt::format("| {} | {:.3f} | {:.3f}x | {:.3f} - {:.3f} | {} |\n", mode,
                      m["median_ms"].get<double>(), m["vs_none"]["median"].get<double>(),
                      m["vs_none"]["q1"].get<double>(), m["vs_none"]["q3"].get<double>(),
                      num(m["false_alarms"]));
  }
  return md;
}

}  // namespace

std::string report_md(const json& r, const std::vector<OodSetInfo>& sets) {
  std::string md = fmt::format("# SAVE evaluation: `{}`\n\n", r["model"].get<std::string>());
  md += fmt::format("- model sha256 `{}`\n", r["model_sha256"].get<std::string>());
  md += fmt::format("- inputs: `{}`, {} samples, batch {}{}\n", r["data"].get<std::string>(),
                    num(r["samples"]), num(r["batch"]),
                    r["quick"].get<bool>() ? " (`--quick` subset)" : "");
  md += fmt::format(
      "- faults: pattern random; flips {} per trial; {} trial(s) per point; accumulated flips "
      "target the weights, streaming flips weights and activations; seed {}\n",
      fmt::join(r["flips"].get<std::vector<int64_t>>(), ", "), num(r["trials"]), num(r["seed"]));
  if (r.contains("ood_skipped"))
    md += fmt::format("- **out-of-distribution sets not run**: {}\n",
                      r["ood_skipped"].get<std::string>());
  else
    md += fmt::format("- out-of-distribution sets: {} inputs each, fault-free\n",
                      num(r["ood_samples"]));
  const json& mc = r["machine"];
  md += fmt::format("- machine: {}, {}, threads: {}; whole eval {:.1f} s\n",
                    mc["hostname"].get<std::string>(), mc["cpu"].get<std::string>(),
                    num(mc["threads"]), r["seconds"].get<double>());
  for (const json& m : r["modes"])
    if (m["status"] != "ran")
      md += fmt::format("- **{} not run**: {}\n", m["mode"].get<std::string>(),
                        m["note"].get<std::string>());
  md +=
      "\n## Accuracy, SDC, cost\n\n| mode | scenario | flips | accuracy mean (min - max) | SDC "
      "rate | NaN/Inf | detections | false alarms | recoveries | latency ms/batch | "
      "AccurateLatency ms | x none fault-free | reliable memory |\n"
      "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    for (const json& p : m["points"]) {
      std::string acc = p["accuracy_mean"].is_null()
                            ? "n/a"
                            : fmt::format("{} ({} - {})", pct(p["accuracy_mean"]),
                                          pct(p["accuracy_min"]), pct(p["accuracy_max"]));
      auto opt = [&](const char* k, const char* f) {
        return p.contains(k) && !p[k].is_null() ? fmt::format(fmt::runtime(f), p[k].get<double>())
                                                : std::string("n/a");
      };
      md += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
          m["mode"].get<std::string>(), p["scenario"].get<std::string>(), num(p["flips"]), acc,
          pct(p["sdc_rate"]), num(p["nan_inf"]), num(p["detections"]), num(p["false_alarms"]),
          num(p["recoveries"]), opt("latency_ms", "{:.3f}"), opt("accurate_latency_ms", "{:.3f}"),
          opt("accurate_latency_vs_none", "{:.2f}x"),
          bytes_text(p["reliable_bytes"].get<int64_t>()), pct(p["reliable_fraction"], 3));
    }
  }
  md +=
      "\nCounts are totals over the trials. False alarms are detections while no flip had "
      "landed. AccurateLatency = latency x (1 + SDC rate), latency being the median per batch of "
      "each trial. x none: the mode's fault-free latency over `none`'s, measured in interleaved "
      "rounds (below), times the point's AccurateLatency over the mode's own fault-free latency "
      "in the same campaign (what the flips cost it). Reliable memory is the most a trial used, "
      "and its share of inference memory (one batch's weights and activation arena).\n";
  md += latency_md(r);
  if (!sets.empty()) {
    md += "\n## Out-of-distribution inputs (fault-free)\n\nfalse alarms / wrong outputs per set: ";
    md +=
        "a false alarm is a detection (there is no fault); a wrong output is an answer that "
        "differs from the unprotected model's (a wrong patch).\n\n| mode |";
    std::string rule = "|---|";
    for (const OodSetInfo& s : sets) md += " " + s.name + " |", rule += "---:|";
    md += "\n" + rule + "\n";
    for (const json& m : r["modes"]) {
      if (m["status"] != "ran") continue;
      md += "| " + m["mode"].get<std::string>() + " |";
      for (const OodSetInfo& s : sets) {
        std::string cell = " - ";
        for (const json& o : m["ood"])
          if (o["set"] == s.name)
            cell = fmt::format(" {} / {} ", num(o["false_alarms"]), num(o["wrong_outputs"]));
        md += cell + "|";
      }
      md += "\n";
    }
    md += "\n";
    for (const OodSetInfo& s : sets) md += fmt::format("- {}: {}\n", s.name, s.description);
  }
  md += "\n## Plots\n\n";
  for (const json& sc : r["scenarios"])
    md += fmt::format("![accuracy vs flips, {0}](accuracy_vs_flips_{0}.svg)\n\n",
                      sc.get<std::string>());
  md += "![AccurateLatency per mode](accurate_latency.svg)\n\n";
  if (!sets.empty()) md += "![false alarms on out-of-distribution inputs](ood_false_alarms.svg)\n";
  return md;
}

json plot_summary(const json& r, json series) {
  return {{"model", fs::path(r["model"].get<std::string>()).filename().string()},
          {"samples", r["samples"]},
          {"seed", r["seed"]},
          {"golden_accuracy", r["golden_accuracy"]},
          {"series", std::move(series)}};
}

std::string latency_svg(const json& r, int64_t flips) {
  BarChart c;
  c.title = fmt::format("AccurateLatency per mode ({})",
                        fs::path(r["model"].get<std::string>()).filename().string());
  c.y_label = "AccurateLatency, ms per batch";
  c.note = "latency x (1 + SDC rate)";
  std::vector<std::pair<std::string, int64_t>> bars;
  for (const json& sc : r["scenarios"]) {
    std::string name = sc.get<std::string>();
    if (bars.empty()) bars.emplace_back(name, 0);  // fault-free: once is enough
    if (flips > 0) bars.emplace_back(name, flips);
  }
  for (const auto& [sc, f] : bars) {
    c.series.push_back(f == 0 ? std::string("fault-free") : fmt::format("{} flips, {}", f, sc));
    c.values.emplace_back();
  }
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    c.categories.push_back(m["mode"].get<std::string>());
    for (size_t i = 0; i < bars.size(); ++i) {
      const json* p = point_at(m, bars[i].first, bars[i].second);
      c.values[i].push_back(p && p->contains("accurate_latency_ms")
                                ? std::optional<double>((*p)["accurate_latency_ms"].get<double>())
                                : std::nullopt);
    }
  }
  return bar_svg(c);
}

std::string ood_svg(const json& r, const std::vector<OodSetInfo>& sets) {
  BarChart c;
  c.title = fmt::format("False alarms on out-of-distribution inputs ({} each, fault-free)",
                        num(r["ood_samples"]));
  c.y_label = "false alarms (detections without a fault)";
  c.note = "0 is the only right answer";
  for (const OodSetInfo& s : sets) c.series.push_back(s.name), c.values.emplace_back();
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") continue;
    c.categories.push_back(m["mode"].get<std::string>());
    for (size_t i = 0; i < sets.size(); ++i) {
      std::optional<double> v;
      for (const json& o : m["ood"])
        if (o["set"] == sets[i].name) v = o["false_alarms"].get<double>();
      c.values[i].push_back(v);
    }
  }
  return bar_svg(c);
}

namespace {

// What the short table says about one mode. The fault-free cost is the
// mean over the scenarios (the same work); the cost under flips is the
// worse scenario: what a mode costs at best is not the question.
struct Headline {
  std::string mode;
  json clean, accumulated, streaming;      // accuracy (agreement when unlabelled)
  std::optional<double> clean_cost, cost;  // fault-free latency, AccurateLatency at F, x none
  int64_t false_alarms = 0, ood_alarms = 0, ood_wrong = 0, ood_inputs = 0, reliable = 0;
  json reliable_fraction;
};

Headline headline(const json& m, int64_t flips) {
  auto acc_at = [&](const char* sc, int64_t f) -> json {
    const json* p = point_at(m, sc, f);
    if (!p) return json();
    return (*p)["accuracy_mean"].is_null() ? json(1 - (*p)["sdc_rate"].get<double>())
                                           : (*p)["accuracy_mean"];
  };
  Headline h;
  h.mode = m["mode"].get<std::string>();
  h.clean = acc_at("accumulated", 0);
  if (h.clean.is_null()) h.clean = acc_at("streaming", 0);
  h.accumulated = acc_at("accumulated", flips);
  h.streaming = acc_at("streaming", flips);
  double clean_sum = 0;
  int clean_n = 0;
  for (const json& p : m["points"]) {
    const json& x = p["accurate_latency_vs_none"];
    if (!x.is_null() && p["flips"] == flips) h.cost = std::max(h.cost.value_or(0), x.get<double>());
    if (!x.is_null() && p["flips"] == 0) clean_sum += x.get<double>(), ++clean_n;
    if (p["flips"] == 0) h.false_alarms += p["false_alarms"].get<int64_t>();
    if (p["reliable_bytes"].get<int64_t>() >= h.reliable) {
      h.reliable = p["reliable_bytes"].get<int64_t>();
      h.reliable_fraction = p["reliable_fraction"];
    }
  }
  if (clean_n > 0) h.clean_cost = clean_sum / clean_n;
  h.false_alarms += m.value("latency_false_alarms", int64_t{0});
  for (const json& o : m["ood"]) {
    h.ood_alarms += o["false_alarms"].get<int64_t>();
    h.ood_wrong += o["wrong_outputs"].get<int64_t>();
    h.ood_inputs += o["samples"].get<int64_t>();
  }
  return h;
}

std::string times(const std::optional<double>& x) {
  return x ? fmt::format("{:.2f}x", *x) : "n/a";
}

}  // namespace

// The terminal table: per mode, what a newcomer needs to see (does accuracy
// survive the headline flip count, what does it cost, does it cry wolf),
// then the story in two sentences: unprotected collapses, SAVE holds.
std::string short_table(const json& r, int64_t flips) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"mode", "fault-free acc", fmt::format("acc @{} accum.", flips),
                  fmt::format("acc @{} stream.", flips), "latency x none",
                  fmt::format("AccLat @{} x none", flips), "false alarms", "OOD alarms/wrong",
                  "reliable mem"});
  std::map<std::string, Headline> by_mode;
  std::string skipped;
  for (const json& m : r["modes"]) {
    if (m["status"] != "ran") {
      skipped += fmt::format("{} not run: {}\n", m["mode"].get<std::string>(),
                             m["note"].get<std::string>());
      continue;
    }
    Headline h = headline(m, flips);
    rows.push_back(
        {h.mode, pct(h.clean, 1), pct(h.accumulated, 1), pct(h.streaming, 1), times(h.clean_cost),
         times(h.cost), std::to_string(h.false_alarms),
         h.ood_inputs ? fmt::format("{}/{} of {}", h.ood_alarms, h.ood_wrong, h.ood_inputs) : "-",
         bytes_text(h.reliable)});
    by_mode[h.mode] = h;
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i)
      out += i == 0 ? fmt::format("{:<{}}", row[i], w[i]) : fmt::format("  {:>{}}", row[i], w[i]);
    out += "\n";
  }
  out += fmt::format(
      "acc: top-1 accuracy (agreement with the fault-free answers when unlabelled).\n"
      "latency x none: fault-free latency over none's (median of interleaved rounds). AccLat "
      "@{0}:\n"
      "  AccurateLatency = latency x (1 + SDC rate) at {0} flips (the worse scenario), x none.\n"
      "false alarms: detections in fault-free runs. OOD: out-of-distribution inputs, fault-free;\n"
      "  wrong = answers that differ from the unprotected model's.\n",
      flips);
  out += skipped;
  if (auto it = by_mode.find("none"); it != by_mode.end())
    out += fmt::format(
        "\nUnprotected (none): {} fault-free, {} / {} with {} bit flips (accumulated / "
        "streaming).\n",
        pct(it->second.clean, 1), pct(it->second.accumulated, 1), pct(it->second.streaming, 1),
        flips);
  if (auto it = by_mode.find("save"); it != by_mode.end()) {
    const Headline& h = it->second;
    out += fmt::format("SAVE: {} fault-free, {} / {} with {} bit flips", pct(h.clean, 1),
                       pct(h.accumulated, 1), pct(h.streaming, 1), flips);
    if (h.clean_cost && h.cost)
      out += fmt::format("; fault-free latency {} none's, AccurateLatency {}", times(h.clean_cost),
                         times(h.cost));
    out += fmt::format("; {} false alarms on clean inputs", h.false_alarms);
    if (h.ood_inputs > 0)
      out += fmt::format(", {} on {} out-of-distribution inputs", h.ood_alarms, h.ood_inputs);
    out += fmt::format("; reliable memory {} ({} of inference memory).\n", bytes_text(h.reliable),
                       pct(h.reliable_fraction, 2));
  }
  return out;
}

}  // namespace save::eval
