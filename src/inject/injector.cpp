#include "inject/injector.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace save {

Pattern parse_pattern(const std::string& s) {
  if (s == "random") return Pattern::kRandom;
  if (s == "consecutive") return Pattern::kConsecutive;
  if (s == "burst") return Pattern::kBurst;
  fail("unknown pattern '{}' (random, consecutive, burst)", s);
}
Scenario parse_scenario(const std::string& s) {
  if (s == "accumulated") return Scenario::kAccumulated;
  if (s == "streaming") return Scenario::kStreaming;
  fail("unknown scenario '{}' (accumulated, streaming)", s);
}
std::string to_string(Pattern p) {
  switch (p) {
    case Pattern::kRandom:
      return "random";
    case Pattern::kConsecutive:
      return "consecutive";
    default:
      return "burst";
  }
}
std::string to_string(Scenario s) {
  return s == Scenario::kAccumulated ? "accumulated" : "streaming";
}

void flip_bit(std::byte* data, uint64_t bit) {
  data[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
}

void flip_value_bit(Plan& plan, BitAddress a) {
  TensorView v = plan.view(a.value);
  SAVE_CHECK(v.data != nullptr && a.bit < v.nbytes() * 8, "bit {} is outside value '{}'", a.bit,
             plan.graph().values[a.value].name);
  flip_bit(static_cast<std::byte*>(v.data), a.bit);
}

namespace {

// Expands one event at `bit` of buffer b into bits_per_word adjacent bits
// inside the same 32-bit word.
void expand_event(const DeviceBuffer& b, uint64_t bit, int bits_per_word,
                  std::vector<BitAddress>& out) {
  int k = std::clamp(bits_per_word, 1, 32);
  uint64_t word = bit / 32;
  uint64_t in_word = bit % 32;
  uint64_t start = std::min<uint64_t>(in_word, 32 - static_cast<uint64_t>(k));
  for (int i = 0; i < k; ++i) {
    uint64_t bb = word * 32 + start + static_cast<uint64_t>(i);
    if (bb < b.bits()) out.push_back({b.value, bb});
  }
}

// Maps a global bit index over `candidates` (concatenated) to (buffer, bit).
std::pair<size_t, uint64_t> locate(const MemoryMap& map, const std::vector<size_t>& candidates,
                                   uint64_t global) {
  for (size_t i : candidates) {
    uint64_t n = map.buffers()[i].bits();
    if (global < n) return {i, global};
    global -= n;
  }
  return {candidates.back(), map.buffers()[candidates.back()].bits() - 1};
}

}  // namespace

std::vector<BitAddress> draw_locations(const MemoryMap& map, const std::vector<size_t>& candidates,
                                       const FaultConfig& cfg, int64_t count, Rng& rng) {
  std::vector<BitAddress> out;
  if (candidates.empty() || count <= 0) return out;
  uint64_t total = map.total_bits(candidates);
  if (total == 0) return out;
  switch (cfg.pattern) {
    case Pattern::kRandom:
      for (int64_t e = 0; e < count; ++e) {
        auto [buf, bit] = locate(map, candidates, rng.below(total));
        expand_event(map.buffers()[buf], bit, cfg.bits_per_word, out);
      }
      break;
    case Pattern::kConsecutive: {
      // Bits 0..N-1 of the first weight buffer (then the following ones):
      // the SAVE artifact's "virtual-consecutive" mode. Event e starts at bit
      // e * bits_per_word so multi-bit events do not overlap.
      std::vector<size_t> weights;
      for (size_t i : candidates)
        if (map.buffers()[i].weight) weights.push_back(i);
      const auto& pool = weights.empty() ? candidates : weights;
      uint64_t pool_bits = map.total_bits(pool);
      uint64_t step = static_cast<uint64_t>(std::clamp(cfg.bits_per_word, 1, 32));
      for (int64_t e = 0; e < count; ++e) {
        uint64_t g = static_cast<uint64_t>(e) * step;
        if (g >= pool_bits) break;
        auto [buf, bit] = locate(map, pool, g);
        expand_event(map.buffers()[buf], bit, cfg.bits_per_word, out);
      }
      break;
    }
    case Pattern::kBurst: {
      // Runs of burst_length adjacent bits, each starting at a uniformly
      // drawn bit of one buffer and staying inside it.
      uint64_t len = static_cast<uint64_t>(std::max(cfg.burst_length, 1));
      int64_t done = 0;
      while (done < count) {
        auto [buf, bit] = locate(map, candidates, rng.below(total));
        const DeviceBuffer& b = map.buffers()[buf];
        uint64_t start = std::min(bit, b.bits() > len ? b.bits() - len : 0);
        for (uint64_t i = 0; i < len && done < count && start + i < b.bits(); ++i, ++done)
          expand_event(b, start + i, cfg.bits_per_word, out);
      }
      break;
    }
  }
  return out;
}

Injector::Injector(Session& session, FaultConfig cfg) : session_(session), cfg_(cfg) {
  SAVE_CHECK(cfg_.flips >= 0, "flip count must be >= 0");
  SAVE_CHECK(cfg_.bits_per_word >= 1 && cfg_.bits_per_word <= 32, "bits per word must be 1..32");
}

const MemoryMap& Injector::map_for(Plan& plan) {
  auto& m = maps_[&plan];
  if (!m) m = std::make_unique<MemoryMap>(plan);
  return *m;
}

void Injector::apply(Plan& plan, const std::vector<BitAddress>& bits, int64_t inference,
                     int64_t step) {
  for (const BitAddress& a : bits) {
    flip_value_bit(plan, a);
    bool weight = plan.values()[a.value].storage == Storage::kConstant;
    if (weight) session_.constant_changed(a.value);  // its readers repack
    applied_.push_back({a, weight, inference, step});
  }
}

void Injector::begin_trial(Plan& plan, uint64_t seed, int64_t num_inferences) {
  session_.restore_constants();
  applied_.clear();
  schedule_.clear();
  inference_ = -1;
  rng_ = std::make_unique<Rng>(seed);
  const MemoryMap& map = map_for(plan);
  if (cfg_.scenario == Scenario::kAccumulated) {
    // Flips that built up while the model sat in memory: only weights exist.
    Target t = cfg_.target == Target::kActivations ? Target::kActivations : Target::kWeights;
    SAVE_CHECK(t == Target::kWeights,
               "the accumulated scenario flips resident weights; use --target weights or all "
               "(activations only exist during a run: use --scenario streaming)");
    std::vector<BitAddress> bits =
        draw_locations(map, map.live(-1, Target::kWeights), cfg_, cfg_.flips, *rng_);
    apply(plan, bits, -1, -1);
    // Graph weights are shared by every plan of the session; constants folded
    // at plan time are per plan, so the same flips go into the other plans'
    // copies (the memory they stand for is the same).
    for (Plan* other : session_.plans()) {
      if (other == &plan) continue;
      for (const BitAddress& a : bits) {
        const PlannedValue& pv = other->values()[a.value];
        if (pv.folded && pv.storage == Storage::kConstant && a.bit < pv.constant.nbytes() * 8)
          flip_value_bit(*other, a);
      }
    }
    return;
  }
  // Streaming: moments uniform over (inference, step).
  int64_t steps = static_cast<int64_t>(plan.steps().size());
  SAVE_CHECK(num_inferences > 0 && steps > 0, "streaming needs at least one inference and step");
  uint64_t moments = static_cast<uint64_t>(num_inferences) * static_cast<uint64_t>(steps);
  for (int64_t e = 0; e < cfg_.flips; ++e) {
    uint64_t m = rng_->below(moments);
    schedule_[{static_cast<int64_t>(m / steps), static_cast<int64_t>(m % steps)}]++;
  }
}

void Injector::end_trial() {
  session_.restore_constants();
  schedule_.clear();
}

void Injector::on_run_begin(Execution& ex) {
  ++inference_;
}

size_t Injector::after_step(Execution& ex, size_t step) {
  if (schedule_.empty()) return step + 1;
  auto it = schedule_.find({inference_, static_cast<int64_t>(step)});
  if (it == schedule_.end()) return step + 1;
  const MemoryMap& map = map_for(ex.plan());
  std::vector<size_t> live = map.live(static_cast<int64_t>(step), cfg_.target);
  std::vector<BitAddress> bits = draw_locations(map, live, cfg_, it->second, *rng_);
  apply(ex.plan(), bits, inference_, static_cast<int64_t>(step));
  schedule_.erase(it);
  return step + 1;
}

}  // namespace save
