#include "protect/protection_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "analysis/bit_classes.hpp"
#include "analysis/robust_masks.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hash.hpp"
#include "core/json_read.hpp"
#include "passes/pipeline.hpp"

namespace save::protect {

namespace {

// One channel's classes: adds its counts and its non-robust bits.
// `robust` is the analysis' mask for the channel (numerics and operator,
// analysis/robust_masks.hpp); the other bits are ranging or vulnerable by
// the channel's interval.
void add_channel(ActivationPlan& a, float lo, float hi, double tol, uint32_t robust) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    a.robust_bits += std::popcount(robust);
    a.vulnerable_bits += 32 - std::popcount(robust);
    a.nonrobust_mask |= ~robust;
    return;
  }
  BitClasses bc = classify_bits(lo, hi, tol);
  for (int b = 0; b < 32; ++b) {
    // Robust only where the analysis' mask says so: it applies the local
    // tolerance that keeps amplification by later layers within the output
    // tolerance (analysis/robust_masks.hpp); classify_bits at the full
    // tolerance would let such bits go unchecked.
    if ((robust & (1u << b)) != 0) {
      a.robust_bits += 1;
      continue;
    }
    a.nonrobust_mask |= 1u << b;
    (bc.bit[b] == BitClass::kRanging ? a.ranging_bits : a.vulnerable_bits) += 1;
  }
}

std::string dims(const Shape& s, bool any_batch) {
  std::string out;
  for (size_t d = 0; d < s.size(); ++d) {
    if (d > 0) out += 'x';
    out += d == 0 && any_batch ? std::string("N") : std::to_string(s[d]);
  }
  return out.empty() ? "scalar" : out;
}

}  // namespace

std::string PlanShapes::mismatch(const std::vector<Shape>& run) const {
  if (run.size() != shapes.size())
    return fmt::format("the run has {} inputs, the plan was made for {}", run.size(),
                       shapes.size());
  for (size_t i = 0; i < run.size(); ++i) {
    const Shape& want = shapes[i];
    bool ok = run[i].size() == want.size();
    for (size_t d = 0; ok && d < want.size(); ++d)
      ok = run[i][d] == want[d] || (d == 0 && any_batch);
    if (!ok)
      return fmt::format("input '{}' is {}, the plan was made for {}", names[i],
                         dims(run[i], false), dims(want, any_batch));
  }
  return "";
}

std::string PlanShapes::describe() const {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
    out += ": ";
    out += dims(shapes[i], any_batch);
  }
  return out;
}

std::vector<Shape> plan_input_shapes(const Plan& plan) {
  std::vector<Shape> out;
  for (ValueId v : plan.graph().inputs) out.push_back(plan.values()[v].info.shape);
  return out;
}

ProtectionPlan plan_from_analysis(const RangeAnalysis& ra, double tolerance,
                                  const std::string& model_sha256) {
  SAVE_CHECK(ra.plan != nullptr, "plan_from_analysis needs a finished range analysis");
  const Plan& plan = *ra.plan;
  const Graph& g = plan.graph();
  ProtectionPlan p;
  p.model_sha256 = model_sha256;
  p.passes = g.passes;
  p.tolerance = tolerance;
  p.inputs = ra.inputs;
  p.analysis_seconds = ra.seconds;
  for (size_t i = 0; i < g.inputs.size() && i < ra.input_shapes.size(); ++i) {
    p.shapes.names.push_back(g.values[g.inputs[i]].name);
    p.shapes.shapes.push_back(ra.input_shapes[i]);
  }
  p.shapes.any_batch = ra.any_batch;
  for (ValueId v = 0; v < plan.values().size(); ++v) {
    const PlannedValue& pv = plan.values()[v];
    const ValueSummary& s = ra.summary[v];
    if (pv.storage != Storage::kArena || !s.present || pv.info.dtype != DType::kF32) continue;
    ActivationPlan a;
    a.name = g.values[v].name;
    if (!s.channel_lo.empty()) {
      a.lo = s.channel_lo;
      a.hi = s.channel_hi;
    } else {
      a.lo = {static_cast<float>(s.min_lo)};
      a.hi = {static_cast<float>(s.max_hi)};
    }
    a.bounded = true;
    std::vector<uint32_t> robust = robust_masks(ra, v, tolerance);
    for (size_t c = 0; c < a.lo.size(); ++c) {
      uint32_t r = robust.size() == a.lo.size() ? robust[c] : robust.size() == 1 ? robust[0] : 0;
      add_channel(a, a.lo[c], a.hi[c], tolerance, r);
      a.bounded = a.bounded && std::isfinite(a.lo[c]) && std::isfinite(a.hi[c]);
    }
    double n = static_cast<double>(a.lo.size());
    a.robust_bits /= n, a.ranging_bits /= n, a.vulnerable_bits /= n;
    p.activations.emplace(a.name, std::move(a));
  }
  return p;
}

ProtectionPlan build_plan(Session& session, const RangeOptions& opts, double tolerance,
                          const std::string& model_sha256) {
  RangeAnalysis ra = analyze_ranges(session, opts);
  return plan_from_analysis(ra, tolerance, model_sha256);
}

namespace {

// JSON has no Inf: unbounded ends are written as null.
nlohmann::json bound_json(float x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}
float bound_from(const nlohmann::json& j, float inf) {
  return j.is_null() ? inf : j.get<float>();
}

}  // namespace

void save_plan(const ProtectionPlan& plan, const std::string& path) {
  nlohmann::json j;
  j["format"] = "save-protection-plan";
  j["version"] = plan.version;
  j["model_sha256"] = plan.model_sha256;
  j["passes"] = plan.passes;
  j["tolerance"] = plan.tolerance;
  j["analysis_seconds"] = plan.analysis_seconds;
  for (const InputRange& r : plan.inputs)
    j["inputs"].push_back({{"name", r.name},
                           {"lo", r.lo},
                           {"hi", r.hi},
                           {"defaulted", r.defaulted},
                           {"bounded", r.bounded}});
  j["input_shapes"] = nlohmann::json::array();
  for (size_t i = 0; i < plan.shapes.names.size(); ++i)
    j["input_shapes"].push_back({{"name", plan.shapes.names[i]}, {"shape", plan.shapes.shapes[i]}});
  j["any_batch"] = plan.shapes.any_batch;
  nlohmann::json vals = nlohmann::json::array();
  for (const auto& [name, a] : plan.activations) {
    nlohmann::json lo = nlohmann::json::array(), hi = nlohmann::json::array();
    for (size_t c = 0; c < a.lo.size(); ++c) {
      lo.push_back(bound_json(a.lo[c]));
      hi.push_back(bound_json(a.hi[c]));
    }
    vals.push_back({{"name", name},
                    {"lo", lo},
                    {"hi", hi},
                    {"nonrobust_mask", a.nonrobust_mask},
                    {"robust_bits", a.robust_bits},
                    {"ranging_bits", a.ranging_bits},
                    {"vulnerable_bits", a.vulnerable_bits},
                    {"bounded", a.bounded}});
  }
  j["activations"] = std::move(vals);
  // A checksum of the content: a plan edited by hand (its activation list
  // emptied) would otherwise still match the model's sha256 and run with no
  // protection.
  j["content_sha256"] = sha256_hex(j.dump());
  write_file_atomic(path, j.dump() + "\n");
}

ProtectionPlan load_plan(const std::string& path, const std::string& expected_sha256,
                         const std::vector<std::string>* expected_passes) {
  std::string text = read_file_or_empty(path);
  SAVE_CHECK(!text.empty(), "cannot read the protection plan '{}' (missing or empty)", path);
  return parse_plan(text, path, expected_sha256, expected_passes);
}

ProtectionPlan parse_plan(const std::string& text, const std::string& path,
                          const std::string& expected_sha256,
                          const std::vector<std::string>* expected_passes) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  SAVE_CHECK(!j.is_discarded() && j.is_object() &&
                 field_or(j, "format", std::string()) == "save-protection-plan",
             "'{}' is not a SAVE protection plan (write one with `save analyze MODEL -o PLAN`)",
             path);
  SAVE_CHECK(j.contains("content_sha256") && j["content_sha256"].is_string(),
             "protection plan '{}' has no content checksum (written by an older save, or "
             "edited); re-run `save analyze MODEL -o PLAN`",
             path);
  {
    nlohmann::json content = j;
    const std::string sum = content["content_sha256"].get<std::string>();
    content.erase("content_sha256");
    SAVE_CHECK(sha256_hex(content.dump()) == sum,
               "protection plan '{}' does not match its content checksum (it was changed after "
               "`save analyze` wrote it); re-run `save analyze MODEL -o PLAN`",
               path);
  }
  int version = field_or(j, "version", 0);
  SAVE_CHECK(version == kPlanFormatVersion,
             "protection plan '{}' has format version {}, this build reads version {}; "
             "re-run `save analyze -o`",
             path, version, kPlanFormatVersion);
  ProtectionPlan p;
  try {
    p.model_sha256 = j.at("model_sha256").get<std::string>();
    p.passes = j.at("passes").get<std::vector<std::string>>();
    p.tolerance = j.at("tolerance").get<double>();
    p.analysis_seconds = j.value("analysis_seconds", 0.0);
    if (j.contains("inputs"))
      for (const auto& r : j.at("inputs"))
        p.inputs.push_back({r.at("name").get<std::string>(), r.at("lo").get<double>(),
                            r.at("hi").get<double>(), r.at("defaulted").get<bool>(),
                            r.at("bounded").get<bool>()});
    for (const auto& r : j.at("input_shapes")) {
      p.shapes.names.push_back(r.at("name").get<std::string>());
      p.shapes.shapes.push_back(r.at("shape").get<Shape>());
      SAVE_CHECK(std::all_of(p.shapes.shapes.back().begin(), p.shapes.shapes.back().end(),
                             [](int64_t d) { return d >= 0; }),
                 "negative dimension in input shape of '{}'", p.shapes.names.back());
    }
    p.shapes.any_batch = j.at("any_batch").get<bool>();
    const float inf = std::numeric_limits<float>::infinity();
    for (const auto& v : j.at("activations")) {
      ActivationPlan a;
      a.name = v.at("name").get<std::string>();
      for (const auto& x : v.at("lo")) a.lo.push_back(bound_from(x, -inf));
      for (const auto& x : v.at("hi")) a.hi.push_back(bound_from(x, inf));
      SAVE_CHECK(!a.lo.empty() && a.lo.size() == a.hi.size(), "bad bounds for '{}'", a.name);
      a.nonrobust_mask = v.at("nonrobust_mask").get<uint32_t>();
      a.robust_bits = v.at("robust_bits").get<double>();
      a.ranging_bits = v.at("ranging_bits").get<double>();
      a.vulnerable_bits = v.at("vulnerable_bits").get<double>();
      a.bounded = v.at("bounded").get<bool>();
      p.activations.emplace(a.name, std::move(a));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("protection plan '{}' is corrupt: {}", path, e.what());
  } catch (const Error& e) {
    fail("protection plan '{}' is corrupt: {}", path, e.what());
  }
  SAVE_CHECK(expected_sha256.empty() || p.model_sha256 == expected_sha256,
             "protection plan '{}' was made for another model (sha256 {}…), this model is {}…; "
             "re-run `save analyze MODEL -o PLAN`",
             path, p.model_sha256.substr(0, 12), expected_sha256.substr(0, 12));
  SAVE_CHECK(expected_passes == nullptr || p.passes == *expected_passes,
             "protection plan '{}' was made for the graph after passes [{}], this session runs "
             "[{}] (fusion removes and merges values); re-run `save analyze` with the same "
             "--no-fuse setting",
             path, passes_str(p.passes), passes_str(*expected_passes));
  return p;
}

}  // namespace save::protect
