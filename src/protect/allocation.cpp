#include "protect/allocation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "core/error.hpp"

namespace save::protect {

Budget Budget::parse(const std::string& text) {
  Budget b;
  if (text.empty()) return b;
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    fail("--reliable-mem: '{}' is not a size (BYTES, e.g. 65536 or 64KiB, or PERCENT%)", text);
  }
  std::string unit = text.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  SAVE_CHECK(std::isfinite(v) && v >= 0, "--reliable-mem must be >= 0 (got '{}')", text);
  if (unit == "%") {
    SAVE_CHECK(v <= 100, "--reliable-mem: {}% is more than all memory", v);
    b.percent = true;
    b.value = v;
    return b;
  }
  double mul = 0;
  if (unit.empty() || unit == "b") mul = 1;
  if (unit == "k" || unit == "kb") mul = 1e3;
  if (unit == "kib") mul = 1024;
  if (unit == "m" || unit == "mb") mul = 1e6;
  if (unit == "mib") mul = 1024.0 * 1024;
  if (unit == "g" || unit == "gb") mul = 1e9;
  if (unit == "gib") mul = 1024.0 * 1024 * 1024;
  SAVE_CHECK(mul > 0, "--reliable-mem: unknown unit '{}' in '{}' (use B, KiB, MiB, KB, MB or %)",
             unit, text);
  b.percent = false;
  b.value = std::floor(v * mul);
  // bytes_for() casts to int64: 1e99 bytes would be undefined behaviour.
  SAVE_CHECK(b.value < 0x1p62, "--reliable-mem: '{}' is more memory than any machine has", text);
  return b;
}

int64_t Budget::bytes_for(int64_t inference_bytes) const {
  if (!percent) return static_cast<int64_t>(value);
  return static_cast<int64_t>(std::floor(static_cast<double>(inference_bytes) * value / 100));
}

std::string Budget::str() const {
  return percent ? fmt::format("{}%", value) : fmt::format("{} bytes", value);
}

int64_t inference_memory_bytes(const Plan& plan) {
  std::set<ValueId> weights;
  for (const PlannedStep& st : plan.steps())
    for (ValueId v : st.inputs)
      if (v != kNoId && plan.values()[v].storage == Storage::kConstant) weights.insert(v);
  int64_t bytes = static_cast<int64_t>(plan.arena_bytes());
  for (ValueId v : weights) bytes += static_cast<int64_t>(plan.values()[v].constant.nbytes());
  return bytes;
}

Allocation choose_allocation(const Plan& plan, const ProtectionPlan& pp,
                             const std::vector<ValueId>& checked, int64_t metadata_bytes,
                             const Budget& budget) {
  Allocation a;
  a.inference_bytes = inference_memory_bytes(plan);
  a.budget_bytes = budget.bytes_for(a.inference_bytes);
  a.metadata_bytes = metadata_bytes;
  const Graph& g = plan.graph();
  std::vector<ValueId> order = checked;
  auto robust = [&](ValueId v) { return pp.activations.at(g.values[v].name).robust_bits; };
  std::stable_sort(order.begin(), order.end(), [&](ValueId x, ValueId y) {
    double rx = robust(x), ry = robust(y);
    if (rx != ry) return rx < ry;
    return plan.values()[x].nbytes < plan.values()[y].nbytes;
  });
  int64_t free = a.budget_bytes - metadata_bytes;
  for (ValueId v : order) {
    auto bytes = static_cast<int64_t>(plan.values()[v].nbytes);
    if (bytes <= free) {
      free -= bytes;
      a.placed_bytes += bytes;
      a.placed.push_back(v);
    } else {
      a.left_in_device.push_back(v);
    }
  }
  return a;
}

void apply_allocation(Plan& plan, const Allocation& a) {
  for (ValueId v : a.placed) plan.values()[v].region = Region::kReliable;
}

}  // namespace save::protect
