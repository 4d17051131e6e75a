// Exhaustive single-bit sweep: flips each selected weight bit alone in the
// device copy, runs a fixed validation batch and records how far the outputs
// move from the fault-free (golden) run. This is the ground truth that bit
// attribution is validated against, so it must be exact and fast:
//  - one session and one plan for the whole sweep;
//  - per tensor, the arena state right before the tensor's first reader step
//    s0 is computed once and saved (only the byte ranges that steps >= s0
//    read before writing: values live across the cut);
//  - per bit: restore those ranges, flip, re-run steps [s0, end), compare,
//    flip back. The restore is required: the arena reuses memory by
//    lifetime, so a re-run overwrites bytes the next re-run reads.
//  - per bit, every step's outputs are compared with their fault-free copy
//    (kept from one full fault-free run) right after it runs: a later step
//    whose inputs are all identical to the fault-free run (and that does not
//    read the flipped weight) would compute the same bytes (the kernels are
//    deterministic), so it is skipped and its fault-free outputs copied in
//    (a residual block's other branch); once no changed value is read
//    any more the re-run ends with an exact zero effect. Low mantissa
//    flips mostly end right after the reader: the change rounds away.
// Validation of bit attribution (--predict TOL): each weight bit is also
// classified by analysis/robust_masks.hpp (robust or not at tolerance TOL)
// and the summary counts prediction against outcome; `only` restricts the
// sweep to the bits predicted robust (to hunt for false-robust bits) or
// not.
// Folded constants: a weight read only by nodes folded at plan time never
// reaches a kernel; its effect flows through the folded constant. Such
// weights are reported as not swept, and --all-weights sweeps the folded
// constants that steps read instead (marked `folded`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analysis/robust_masks.hpp"
#include "exec/session.hpp"
#include "inject/sweep_results.hpp"

namespace save {

struct SweepOptions {
  std::vector<std::string> tensors;  // value names to sweep
  bool all_weights = false;          // every float32 constant a step reads
  std::vector<int> bit_positions;    // 0..31 within each float; empty: all 32
  int64_t sample = 0;                // > 0: this many (element, bit) pairs, uniform, no repeats
  // Non-empty: only these elements of each selected tensor (targeted flips:
  // one tensor, element and bit). Not combinable with `sample`.
  std::vector<int64_t> elements;
  uint64_t seed = 0;
  // Also re-runs every flipped bit from step 0 and fails unless the outputs
  // are bit-identical to the partial re-run (slow; a self-check).
  bool verify = false;
  // > 0: predict robustness at this tolerance (bit attribution) and judge
  // it: a bit is truly robust when no output moves by more than the
  // tolerance, no output becomes NaN/Inf and no top-1 changes.
  double predict_tolerance = 0;
  enum class Only { kAll, kPredictedRobust, kPredictedNonRobust } only = Only::kAll;
};

struct SweepTensor {
  ValueId value = kNoId;
  std::string name;
  bool folded = false;  // a constant computed at plan time, not a graph weight
  int64_t elements = 0;
  size_t first_step = 0;  // first step that reads it: re-runs start here
};

struct SkippedTensor {
  std::string name;
  std::string reason;  // e.g. "folded: not swept (flows through folded constant 'x')"
};

// Where a planned bit stands: `ordinal` is its place in the sweep's order
// (0 .. planned_bits() - 1), `element` the element it flips counted over
// all swept tensors (earlier tensors' elements first). A sharded sweep
// splits by element (eval/sweep_shard.hpp) and merges by ordinal.
struct BitSlot {
  uint64_t ordinal = 0;
  uint64_t element = 0;
};

class Sweep {
 public:
  // `inputs` in graph.inputs order (the validation batch). Repairs the
  // device constants, resolves the selection (throws Error for an unknown
  // or unsweepable tensor named explicitly) and runs the golden pass.
  Sweep(Session& session, std::vector<Tensor> inputs, SweepOptions opts);

  const std::vector<SweepTensor>& tensors() const { return tensors_; }
  const std::vector<SkippedTensor>& skipped() const { return skipped_; }
  const std::vector<Tensor>& golden() const { return golden_; }
  uint64_t population_bits() const { return population_; }  // selection size
  // Bits the run will sweep: the sample, or every eligible bit (the whole
  // selection, or the side of the prediction `only` picks), of the listed
  // elements only with `elements` (once per time an element is listed).
  uint64_t planned_bits() const { return planned_; }
  bool sampled() const { return !sample_.empty(); }

  // Sweeps every planned bit in (tensor, element, bit) order and calls
  // `on_bit` after each. Leaves the device weights bit-identical to golden.
  // With `take`, only the planned bits it accepts are swept (and counted);
  // ordinals still number every planned bit, so they mean the same in
  // every process. A tensor none of whose bits is taken costs nothing.
  using Callback = std::function<void(const SweepTensor&, const BitEffect&)>;
  using Filter = std::function<bool(const BitSlot&)>;
  SweepSummary run(const Callback& on_bit = {}, const Filter& take = {});

 private:
  struct Range {
    size_t offset, nbytes;
  };
  void select();       // sweep_select.cpp
  void draw_sample();  // sweep_select.cpp: the eligible bits and the sample
  void run_golden();   // sweep_rerun.cpp: the fault-free run, every output kept
  void add_tensor(ValueId v, const std::vector<int64_t>& first_reader, bool explicit_name);
  std::vector<std::string> folded_consumers(ValueId v,
                                            const std::vector<int64_t>& first_reader) const;
  // Runs steps [0, s0) and saves the ranges live across s0.
  void snapshot(size_t s0);
  BitEffect measure(const SweepTensor& t, int64_t element, int bit);
  bool wanted(size_t tensor, uint64_t index) const;
  // Positions into bits_ of the eligible bits of one element.
  std::vector<size_t> eligible_bits(size_t tensor, int64_t element) const;
  BitEffect compare() const;
  class Rerun;

  Session& session_;
  std::vector<Tensor> inputs_;
  SweepOptions opts_;
  Plan* plan_ = nullptr;
  std::vector<int> bits_;
  std::vector<SweepTensor> tensors_;
  std::vector<SkippedTensor> skipped_;
  std::vector<Tensor> golden_;
  std::vector<int64_t> golden_top1_;  // per row of the first output
  uint64_t population_ = 0;
  uint64_t selected_ = 0;         // eligible bits (see `only`)
  uint64_t planned_ = 0;          // see planned_bits()
  std::vector<uint64_t> sample_;  // sorted indices into the population
  std::vector<Range> ranges_;     // current snapshot's ranges...
  std::vector<std::byte> saved_;  // ...and their bytes, back to back
  // Fault-free bytes of every step output (by ValueId), and the re-run's
  // state: values that differ from them.
  std::vector<std::vector<std::byte>> golden_values_;
  std::vector<uint8_t> dirty_;
  int64_t last_reader_ = -1;  // last step reading the current tensor
  int64_t skipped_steps_ = 0;
  std::vector<std::vector<uint32_t>> masks_;  // by tensor index: robust masks
  std::vector<ReaderChange> reader_change_;   // by tensor index (prediction)
};

// Parses "0-31", "31", "23-30,31": bit positions 0..31, sorted, unique.
std::vector<int> parse_bit_positions(const std::string& spec);

}  // namespace save
