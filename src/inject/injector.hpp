// The bit-flip injector: draws flip locations in device memory from a seed
// and applies them through the executor's hooks (no kernel is edited).
//
// Scenarios (../shared/design/EVALUATION.md):
//  - accumulated: N flips sit in the device weights when a trial starts and
//    stay for all its inferences (until something repairs them);
//  - streaming: N flips arrive at moments drawn uniformly over the trial's
//    (inference, step) timeline, each into whatever device memory is live
//    then: a weight flip persists, an activation flip lasts until the value
//    is dead.
// Patterns: random (uniform over live bits), consecutive (bits 0..N-1 of the
// first weight buffer, then the next), burst (runs of `burst_length`
// adjacent bits starting at random places).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/hooks.hpp"
#include "exec/session.hpp"
#include "inject/fault_status.hpp"
#include "inject/memory_map.hpp"
#include "inject/rng.hpp"

namespace save {

enum class Pattern { kRandom, kConsecutive, kBurst };
enum class Scenario { kAccumulated, kStreaming };
Pattern parse_pattern(const std::string& s);
Scenario parse_scenario(const std::string& s);
std::string to_string(Pattern p);
std::string to_string(Scenario s);

struct FaultConfig {
  Pattern pattern = Pattern::kRandom;
  Scenario scenario = Scenario::kAccumulated;
  Target target = Target::kWeights;
  int64_t flips = 0;      // flip events per trial
  int bits_per_word = 1;  // adjacent bits flipped per event, within one 32-bit word
  int burst_length = 16;  // bits per run for Pattern::kBurst
};

// One bit of one value: bit index within the value's bytes (see memory_map.hpp).
struct BitAddress {
  ValueId value = kNoId;
  uint64_t bit = 0;
};

struct FlipRecord {
  BitAddress where;
  bool weight = false;
  int64_t inference = -1;  // -1: before the trial (accumulated)
  int64_t after_step = -1;
};

// XORs one bit of a device buffer.
void flip_bit(std::byte* data, uint64_t bit);
// Flips one bit of a value in a plan (device copy). For constants, callers
// must say so (Session::constant_changed(a.value)) so its readers repack.
void flip_value_bit(Plan& plan, BitAddress a);

// Draws `count` flip events among `candidates` buffers of `map` (each event
// expands to bits_per_word bits). Deterministic in `rng`.
std::vector<BitAddress> draw_locations(const MemoryMap& map, const std::vector<size_t>& candidates,
                                       const FaultConfig& cfg, int64_t count, Rng& rng);

class Injector : public ExecHooks, public FaultStatus {
 public:
  Injector(Session& session, FaultConfig cfg);
  // Starts a trial: repairs the device constants from the host copy, then
  // (accumulated) applies the flips to the weights of `plan`'s memory, or
  // (streaming) schedules them over `num_inferences` runs of `plan`.
  void begin_trial(Plan& plan, uint64_t seed, int64_t num_inferences);
  // Undoes everything: device constants back to golden.
  void end_trial();
  const std::vector<FlipRecord>& applied() const { return applied_; }
  bool any_flip_applied() const override { return !applied_.empty(); }

  void on_run_begin(Execution& ex) override;
  size_t after_step(Execution& ex, size_t step) override;

 private:
  const MemoryMap& map_for(Plan& plan);
  void apply(Plan& plan, const std::vector<BitAddress>& bits, int64_t inference, int64_t step);

  Session& session_;
  FaultConfig cfg_;
  std::map<const Plan*, std::unique_ptr<MemoryMap>> maps_;
  std::unique_ptr<Rng> rng_;
  // streaming: (inference, after_step) -> number of flip events due then
  std::map<std::pair<int64_t, int64_t>, int64_t> schedule_;
  int64_t inference_ = -1;
  std::vector<FlipRecord> applied_;
};

}  // namespace save
