#include "inject/memory_map.hpp"

#include "core/error.hpp"

namespace save {

MemoryMap::MemoryMap(const Plan& plan) {
  const auto& values = plan.values();
  // A constant that no step reads (e.g. a weight only folded nodes used) is
  // not memory the run depends on: the folded result is.
  std::vector<bool> read(values.size(), false);
  for (const PlannedStep& st : plan.steps())
    for (ValueId v : st.inputs)
      if (v != kNoId) read[v] = true;
  for (ValueId v = 0; v < values.size(); ++v) {
    const PlannedValue& pv = values[v];
    if (pv.region != Region::kDevice) continue;
    if (pv.storage == Storage::kNone) continue;
    if (pv.storage == Storage::kConstant && !read[v]) continue;
    TensorView view = plan.view(v);
    if (view.data == nullptr || view.nbytes() == 0) continue;
    DeviceBuffer b;
    b.value = v;
    b.weight = pv.storage == Storage::kConstant;
    b.data = static_cast<std::byte*>(view.data);
    b.nbytes = view.nbytes();
    b.dtype = view.dtype;
    b.first_step = pv.first_step;
    b.last_step = pv.last_step;
    buffers_.push_back(b);
  }
}

std::vector<size_t> MemoryMap::live(int64_t after_step, Target target) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const DeviceBuffer& b = buffers_[i];
    if (b.weight) {
      if (target != Target::kActivations) out.push_back(i);
      continue;
    }
    if (target == Target::kWeights) continue;
    // Written at or before this moment and still to be read after it.
    if (b.first_step <= after_step && after_step < b.last_step) out.push_back(i);
  }
  return out;
}

int64_t MemoryMap::find(ValueId v) const {
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].value == v) return static_cast<int64_t>(i);
  return -1;
}

uint64_t MemoryMap::total_bits(const std::vector<size_t>& which) const {
  uint64_t n = 0;
  for (size_t i : which) n += buffers_[i].bits();
  return n;
}

Target parse_target(const std::string& s) {
  if (s == "weights") return Target::kWeights;
  if (s == "activations") return Target::kActivations;
  if (s == "all") return Target::kAll;
  fail("unknown target '{}' (weights, activations, all)", s);
}

std::string to_string(Target t) {
  switch (t) {
    case Target::kWeights:
      return "weights";
    case Target::kActivations:
      return "activations";
    default:
      return "all";
  }
}

}  // namespace save
