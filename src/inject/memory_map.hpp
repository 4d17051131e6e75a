// The device memory a plan runs on, as the fault injector sees it: every
// buffer in the `device` region (weights, folded constants, activations),
// with what it holds and when it is live. Bytes map back to
// (value, element, bit): bit b of a buffer is bit b % (8 * elem_size) of
// element b / (8 * elem_size), little-endian (bit 31 of a float32 is its
// sign).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/plan.hpp"

namespace save {

enum class Target { kWeights, kActivations, kAll };

struct DeviceBuffer {
  ValueId value = kNoId;
  bool weight = false;  // a constant: flips persist until repaired
  std::byte* data = nullptr;
  size_t nbytes = 0;
  DType dtype = DType::kUndefined;
  // Activations: live after step `first_step` wrote it (-1: a graph input,
  // live from the start) until step `last_step` read it for the last time.
  int64_t first_step = -1;
  int64_t last_step = -1;
  uint64_t bits() const { return static_cast<uint64_t>(nbytes) * 8; }
};

class MemoryMap {
 public:
  explicit MemoryMap(const Plan& plan);
  const std::vector<DeviceBuffer>& buffers() const { return buffers_; }
  // Buffers (indices into buffers()) live at a moment and matching a target.
  // `after_step` = s means after step s ran and before step s+1 reads;
  // -1 is before step 0 (only weights and graph inputs exist).
  std::vector<size_t> live(int64_t after_step, Target target) const;
  // Index of the buffer of value v, or -1.
  int64_t find(ValueId v) const;
  uint64_t total_bits(const std::vector<size_t>& which) const;

 private:
  std::vector<DeviceBuffer> buffers_;
};

Target parse_target(const std::string& s);
std::string to_string(Target t);

}  // namespace save
