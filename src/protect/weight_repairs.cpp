#include "protect/weight_repairs.hpp"

#include <algorithm>
#include <cstring>

namespace save::protect {

namespace {

// The bytes of weight `v` that differ from the host copy, as (offset, xor):
// chunk by chunk with memcmp, bytes only where a chunk differs (this runs on
// every weight repair, and a flip touches one byte of megabytes).
std::vector<std::pair<size_t, uint8_t>> weight_diff(const Plan& plan, ValueId v) {
  const PlannedValue& pv = plan.values()[v];
  const auto* d = static_cast<const uint8_t*>(pv.constant.data());
  const auto* h = static_cast<const uint8_t*>(pv.golden.data());
  std::vector<std::pair<size_t, uint8_t>> out;
  constexpr size_t kChunk = 4096;
  const size_t n = pv.golden.nbytes();
  for (size_t c = 0; c < n; c += kChunk) {
    const size_t e = std::min(n, c + kChunk);
    if (std::memcmp(d + c, h + c, e - c) == 0) continue;
    for (size_t i = c; i < e; ++i)
      if (d[i] != h[i]) out.emplace_back(i, static_cast<uint8_t>(d[i] ^ h[i]));
  }
  return out;
}

}  // namespace

void WeightRepairs::remember(const Plan& plan, ValueId v) {
  auto diff = weight_diff(plan, v);
  auto& seen = repaired_[v];
  seen.insert(seen.end(), diff.begin(), diff.end());
}

bool WeightRepairs::came_back(const Plan& plan, ValueId v) const {
  auto it = repaired_.find(v);
  if (it == repaired_.end()) return false;
  for (auto [off, bits] : weight_diff(plan, v))
    for (auto [roff, rbits] : it->second)
      if (off == roff && (bits & rbits)) return true;
  return false;
}

}  // namespace save::protect
