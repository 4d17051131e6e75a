// Snapshots and partial re-runs (inject/sweep.hpp): the fault-free run that
// keeps every step's outputs, the arena bytes live across a tensor's first
// reader, and one flipped bit re-run from that reader, skipping steps whose
// inputs are unchanged and ending once no changed value is read any more.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "inject/injector.hpp"
#include "inject/sweep.hpp"

namespace save {

namespace {

// Stops execute_steps after step `stop - 1`: the partial run up to a cut.
class StopBefore : public ExecHooks {
 public:
  explicit StopBefore(size_t stop) : stop_(stop) {}
  size_t after_step(Execution& ex, size_t step) override {
    return step + 1 >= stop_ ? ex.plan().steps().size() : step + 1;
  }

 private:
  size_t stop_;
};

// Flips a weight bit for the lifetime of the object, whatever a re-run
// throws: the sweep must never leave a flipped weight behind.
class ScopedFlip {
 public:
  ScopedFlip(Session& s, Plan& p, BitAddress a) : s_(s), p_(p), a_(a) {
    flip_value_bit(p_, a_);
    s_.constant_changed(a_.value);  // the kernels reading it drop their repacked copy
  }
  ~ScopedFlip() {
    flip_value_bit(p_, a_);
    s_.constant_changed(a_.value);
  }
  ScopedFlip(const ScopedFlip&) = delete;
  ScopedFlip& operator=(const ScopedFlip&) = delete;

 private:
  Session& s_;
  Plan& p_;
  BitAddress a_;
};

// Keeps a copy of every arena output of every step.
class CaptureOutputs : public ExecHooks {
 public:
  CaptureOutputs(std::vector<std::vector<std::byte>>& out, size_t values) : out_(out) {
    out_.assign(values, {});
  }
  size_t after_step(Execution& ex, size_t step) override {
    for (ValueId o : ex.plan().steps()[step].outputs) {
      if (o == kNoId || ex.plan().values()[o].storage != Storage::kArena) continue;
      const TensorView t = ex.value(o);
      const auto* p = static_cast<const std::byte*>(t.data);
      out_[o].assign(p, p + t.nbytes());
    }
    return step + 1;
  }

 private:
  std::vector<std::vector<std::byte>>& out_;
};

}  // namespace

// The hooks of one re-run. After the first reader step of the flipped
// weight: measures how far its outputs moved. After every step: marks each
// output dirty when its bytes differ from the fault-free run; a later step
// whose inputs are all clean (and that does not read the flipped weight)
// would compute the fault-free bytes again (the kernels are deterministic),
// so it is skipped and its fault-free outputs are copied in instead; once
// no dirty value is read by any later step the re-run ends (everything
// downstream is the fault-free run). Off with --verify (every step runs).
class Sweep::Rerun : public ExecHooks {
 public:
  Rerun(Sweep& sw, ValueId flipped, size_t reader) : sw_(sw), flipped_(flipped), reader_(reader) {
    sw_.dirty_.assign(sw_.plan_->values().size(), 0);
    sw_.dirty_[flipped] = 1;
    dirty_list_ = {flipped};
  }
  double max_abs = 0;   // of the reader step's outputs
  bool ended = false;   // no later step could see the change
  int64_t skipped = 0;  // steps whose fault-free outputs were copied in
  size_t after_step(Execution& ex, size_t step) override {
    const Plan& plan = ex.plan();
    const PlannedStep& st = plan.steps()[step];
    for (ValueId o : st.outputs) {
      if (o == kNoId || plan.values()[o].storage != Storage::kArena) continue;
      const TensorView t = ex.value(o);
      const std::vector<std::byte>& want = sw_.golden_values_[o];
      const bool same = std::memcmp(t.data, want.data(), want.size()) == 0;
      if (!same) {
        sw_.dirty_[o] = 1;
        dirty_list_.push_back(o);
      }
      if (step != reader_ || same) continue;
      if (t.dtype != DType::kF32) {
        max_abs = INFINITY;
        continue;
      }
      const float* y = t.ptr<float>();
      const auto* y0 = reinterpret_cast<const float*>(want.data());
      for (int64_t i = 0; i < t.numel(); ++i) {
        const double d = std::fabs(static_cast<double>(y[i]) - y0[i]);
        max_abs = std::max(max_abs, std::isnan(d) ? INFINITY : d);
      }
    }
    if (sw_.opts_.verify) return step + 1;
    const size_t n = plan.steps().size();
    size_t next = step + 1;
    for (; next < n; ++next) {
      if (!live_dirty(plan, next)) {
        ended = true;
        return n;
      }
      if (reads_dirty(plan.steps()[next])) break;
      copy_golden(ex, plan.steps()[next]);
      ++skipped;
    }
    return next;
  }

 private:
  bool reads_dirty(const PlannedStep& st) const {
    for (ValueId v : st.inputs)
      if (v != kNoId && sw_.dirty_[v]) return true;
    return false;
  }
  // Some dirty value is still read at or after step `from`.
  bool live_dirty(const Plan& plan, size_t from) const {
    const Graph& g = plan.graph();
    for (ValueId v : dirty_list_) {
      if (g.values[v].is_graph_output) return true;  // a changed result: not zero
      if (v == flipped_) {
        if (sw_.last_reader_ >= static_cast<int64_t>(from)) return true;
      } else if (plan.values()[v].last_step >= static_cast<int64_t>(from)) {
        return true;
      }
    }
    return false;
  }
  void copy_golden(Execution& ex, const PlannedStep& st) const {
    for (ValueId o : st.outputs) {
      if (o == kNoId || ex.plan().values()[o].storage != Storage::kArena) continue;
      const std::vector<std::byte>& want = sw_.golden_values_[o];
      std::memcpy(ex.value(o).data, want.data(), want.size());
    }
  }
  Sweep& sw_;
  ValueId flipped_;
  size_t reader_;
  std::vector<ValueId> dirty_list_;
};

void Sweep::run_golden() {
  // The fault-free run, keeping every step's outputs (the re-runs compare
  // with them and copy them in for steps they skip).
  CaptureOutputs capture(golden_values_, plan_->values().size());
  Execution ex(*plan_, session_.constant_versions());
  execute_steps(*plan_, &capture, ex, 0);
}

void Sweep::snapshot(size_t s0) {
  Plan& plan = session_.load_inputs(inputs_);
  SAVE_CHECK(&plan == plan_, "the validation batch changed plans");
  if (s0 > 0) {
    // Runs [0, s0) directly (no session hooks: nothing is flipped yet).
    StopBefore stop(s0);
    Execution ex(plan, session_.constant_versions());
    execute_steps(plan, &stop, ex, 0);
  }
  // Bytes steps >= s0 may read before writing: values written before the
  // cut (or inputs) and read at or after it. All others are rewritten by
  // their producer in the re-run before anyone reads them.
  ranges_.clear();
  for (const PlannedValue& pv : plan.values()) {
    if (pv.storage != Storage::kArena || pv.nbytes == 0) continue;
    if (pv.first_step < static_cast<int64_t>(s0) && pv.last_step >= static_cast<int64_t>(s0))
      ranges_.push_back({pv.offset, pv.nbytes});
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.offset < b.offset; });
  size_t total = 0;
  for (const Range& r : ranges_) total += r.nbytes;
  saved_.resize(total);
  size_t at = 0;
  for (const Range& r : ranges_) {
    std::memcpy(saved_.data() + at, plan.arena() + r.offset, r.nbytes);
    at += r.nbytes;
  }
}

BitEffect Sweep::measure(const SweepTensor& t, int64_t element, int bit) {
  size_t at = 0;
  for (const Range& r : ranges_) {
    std::memcpy(plan_->arena() + r.offset, saved_.data() + at, r.nbytes);
    at += r.nbytes;
  }
  BitAddress addr{t.value, static_cast<uint64_t>(element) * 32 + static_cast<uint64_t>(bit)};
  ScopedFlip flip(session_, *plan_, addr);
  // Session hooks are not used by the sweep: the re-run's own hooks run.
  Rerun check(*this, t.value, t.first_step);
  {
    Execution ex(*plan_, session_.constant_versions());
    execute_steps(*plan_, &check, ex, t.first_step);
  }
  BitEffect e;
  if (check.ended) {
    // The change vanished: zero effect. The graph outputs are put in place
    // so callers reading them see what a full re-run gives.
    e.stopped_early = true;
    const Graph& g = session_.graph();
    for (size_t o = 0; o < golden_.size(); ++o) {
      const TensorView y = plan_->view(g.outputs[o]);
      if (y.data != nullptr && plan_->values()[g.outputs[o]].storage == Storage::kArena)
        std::memcpy(y.data, golden_[o].data(), golden_[o].nbytes());
    }
  } else {
    e = compare();
  }
  skipped_steps_ += check.skipped;
  e.consumer_max_abs = check.max_abs;
  e.value = t.value;
  e.element = element;
  e.bit = bit;
  if (opts_.verify) {
    std::vector<Tensor> part = session_.collect_outputs(*plan_);
    session_.execute(session_.load_inputs(inputs_), 0);
    std::vector<Tensor> full = session_.collect_outputs(*plan_);
    for (size_t o = 0; o < full.size(); ++o)
      SAVE_CHECK(std::memcmp(full[o].data(), part[o].data(), full[o].nbytes()) == 0,
                 "sweep self-check: '{}' element {} bit {}: re-running from step {} differs from "
                 "a full run",
                 t.name, element, bit, t.first_step);
  }
  return e;
}

}  // namespace save
