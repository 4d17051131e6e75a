#include "inject/sweep.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "analysis/robust_masks.hpp"
#include "core/error.hpp"
#include "eval/sdc_metric.hpp"
#include "inject/injector.hpp"
#include "inject/rng.hpp"

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

// Row-wise top-1 over the last axis, by the campaigns' rule
// (eval/sdc_metric.hpp): -1 for a row holding a NaN, which always counts
// as changed.
std::vector<int64_t> top1_rows(const float* p, int64_t rows, int64_t cols) {
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) out[static_cast<size_t>(r)] = top1(p + r * cols, cols);
  return out;
}

// Floyd's algorithm: `n` distinct indices of [0, total), sorted.
std::vector<uint64_t> sample_indices(uint64_t total, uint64_t n, uint64_t seed) {
  Rng rng(seed);
  std::unordered_set<uint64_t> chosen;
  chosen.reserve(n * 2);
  for (uint64_t j = total - n; j < total; ++j) {
    uint64_t t = rng.below(j + 1);
    chosen.insert(chosen.count(t) ? j : t);
  }
  std::vector<uint64_t> out(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

// Flips a weight bit for the lifetime of the object, whatever a re-run
// throws: the sweep must never leave a flipped weight behind.
class ScopedFlip {
 public:
  ScopedFlip(Session& s, Plan& p, BitAddress a) : s_(s), p_(p), a_(a) {
    flip_value_bit(p_, a_);
    s_.constants_changed();  // fast kernels drop their repacked copy
  }
  ~ScopedFlip() {
    flip_value_bit(p_, a_);
    s_.constants_changed();
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

bool truly_robust(const BitEffect& e, double tol) {
  return !e.nonfinite && e.top1_changes == 0 && e.max_abs <= tol;
}

void Confusion::add(const BitEffect& e, double tol) {
  const bool truth = truly_robust(e, tol);
  if (e.predicted_robust) {
    ++(truth ? robust_robust : false_robust);
    // "Moved" locally: beyond what the claim allows a real kernel, i.e. the
    // flip's exact effect (under the budget) plus the rounding of two
    // correct float32 evaluations (docs/ANALYSIS.md, "rounding").
    false_robust_consumer += !(e.consumer_max_abs <= e.consumer_bound);
  } else {
    ++(truth ? conservative : nonrobust_nonrobust);
  }
}

void BitPositionStats::add(const BitEffect& e) {
  ++swept;
  top1_changed += e.top1_changes > 0;
  if (e.nonfinite) {
    ++nonfinite;
    return;
  }
  sum_abs += e.max_abs;
  max_abs = std::max(max_abs, e.max_abs);
}

std::vector<int> parse_bit_positions(const std::string& spec) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string part = spec.substr(pos, comma == std::string::npos ? comma : comma - pos);
    int lo = 0, hi = 0;
    char extra = 0;
    int n = std::sscanf(part.c_str(), "%d-%d%c", &lo, &hi, &extra);
    if (n == 1) hi = lo;
    SAVE_CHECK((n == 1 || n == 2) && 0 <= lo && lo <= hi && hi <= 31,
               "bad bit list '{}': use positions 0-31, e.g. '0-31' or '23-30,31'", spec);
    for (int b = lo; b <= hi; ++b) out.push_back(b);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Sweep::Sweep(Session& session, std::vector<Tensor> inputs, SweepOptions opts)
    : session_(session), inputs_(std::move(inputs)), opts_(std::move(opts)) {
  SAVE_CHECK(opts_.all_weights || !opts_.tensors.empty(), "give --tensor NAME or --all-weights");
  SAVE_CHECK(opts_.elements.empty() || opts_.sample == 0,
             "choose either sampled bits or explicit elements, not both");
  bits_ = opts_.bit_positions;
  if (bits_.empty())
    for (int b = 0; b < 32; ++b) bits_.push_back(b);
  for (int b : bits_) SAVE_CHECK(0 <= b && b < 32, "bit position {} is outside 0-31", b);
  session_.restore_constants();
  plan_ = &session_.load_inputs(inputs_);
  {
    // The fault-free run, keeping every step's outputs (the re-runs compare
    // with them and copy them in for steps they skip).
    CaptureOutputs capture(golden_values_, plan_->values().size());
    uint64_t epoch = session_.constants_epoch();
    Execution ex(*plan_, epoch);
    execute_steps(*plan_, &capture, ex, 0);
  }
  golden_ = session_.collect_outputs(*plan_);
  const Tensor& first = golden_.front();
  if (first.dtype() == DType::kF32 && first.rank() >= 1 && first.numel() > 0) {
    int64_t cols = first.shape().back();
    golden_top1_ = top1_rows(first.ptr<float>(), first.numel() / cols, cols);
  }
  select();
  uint64_t per_element = bits_.size();
  for (const SweepTensor& t : tensors_)
    population_ += static_cast<uint64_t>(t.elements) * per_element;
  SAVE_CHECK(opts_.predict_tolerance > 0 || opts_.only == SweepOptions::Only::kAll,
             "selecting bits by prediction needs a prediction tolerance");
  if (opts_.predict_tolerance > 0) {
    // The analysis runs in the same session (same folded weights), at the
    // validation batch's shapes (per sample: batch 1 where that holds).
    RangeOptions ro;
    const Graph& g = session_.graph();
    for (size_t i = 0; i < g.inputs.size() && i < inputs_.size(); ++i)
      ro.input_shapes[g.values[g.inputs[i]].name] = inputs_[i].shape();
    const RangeAnalysis ra = analyze_ranges(session_, ro);
    for (const SweepTensor& t : tensors_) {
      masks_.push_back(robust_masks(ra, t.value, opts_.predict_tolerance));
      reader_change_.push_back(reader_change(ra, t.value));
    }
  }
  // The bits eligible: all, or those the prediction puts on the chosen side.
  selected_ = population_;
  if (opts_.only != SweepOptions::Only::kAll) {
    selected_ = 0;
    for (size_t ti = 0; ti < tensors_.size(); ++ti)
      for (int64_t e = 0; e < tensors_[ti].elements; ++e)
        selected_ += static_cast<uint64_t>(eligible_bits(ti, e).size());
  }
  if (opts_.sample > 0 && static_cast<uint64_t>(opts_.sample) < selected_) {
    // Uniform over the eligible bits: draw ranks, then map each rank to
    // its (tensor, element, bit) index in one walk.
    const std::vector<uint64_t> ranks =
        sample_indices(selected_, static_cast<uint64_t>(opts_.sample), opts_.seed);
    if (opts_.only == SweepOptions::Only::kAll) {
      sample_ = ranks;
    } else {
      uint64_t rank = 0, base = 0;
      size_t next = 0;
      for (size_t ti = 0; ti < tensors_.size() && next < ranks.size(); ++ti) {
        for (int64_t e = 0; e < tensors_[ti].elements && next < ranks.size(); ++e) {
          const std::vector<size_t> bits = eligible_bits(ti, e);
          while (next < ranks.size() && ranks[next] < rank + bits.size())
            sample_.push_back(base + static_cast<uint64_t>(e) * bits_.size() +
                              bits[ranks[next++] - rank]);
          rank += bits.size();
        }
        base += static_cast<uint64_t>(tensors_[ti].elements) * bits_.size();
      }
    }
  }
}

std::vector<size_t> Sweep::eligible_bits(size_t tensor, int64_t element) const {
  std::vector<size_t> out;
  for (size_t b = 0; b < bits_.size(); ++b)
    if (wanted(tensor, static_cast<uint64_t>(element) * bits_.size() + b)) out.push_back(b);
  return out;
}

bool Sweep::wanted(size_t tensor, uint64_t index) const {
  if (opts_.only == SweepOptions::Only::kAll) return true;
  const uint64_t nbits = bits_.size();
  const bool robust = masks_[tensor][index / nbits] >> bits_[index % nbits] & 1u;
  return robust == (opts_.only == SweepOptions::Only::kPredictedRobust);
}

std::vector<std::string> Sweep::folded_consumers(ValueId v,
                                                 const std::vector<int64_t>& first_reader) const {
  // Follow the value through nodes folded at plan time to the folded
  // constants that a step does read.
  const Graph& g = session_.graph();
  std::vector<std::string> out;
  std::vector<ValueId> todo{v};
  std::vector<bool> seen(g.values.size(), false);
  while (!todo.empty()) {
    ValueId cur = todo.back();
    todo.pop_back();
    for (NodeId n : g.values[cur].consumers)
      for (ValueId o : g.nodes[n].outputs) {
        if (o == kNoId || seen[o] || !plan_->values()[o].folded) continue;
        seen[o] = true;
        if (first_reader[o] >= 0)
          out.push_back(g.values[o].name);
        else
          todo.push_back(o);
      }
  }
  return out;
}

void Sweep::add_tensor(ValueId v, const std::vector<int64_t>& first_reader, bool explicit_name) {
  const Graph& g = session_.graph();
  const PlannedValue& pv = plan_->values()[v];
  const std::string& name = g.values[v].name;
  std::string why;
  if (pv.storage != Storage::kConstant) {
    why = "not a weight (an activation or a model input)";
  } else if (pv.region != Region::kDevice) {
    why = "not in device memory (a model input fixed at plan time)";
  } else if (pv.info.dtype != DType::kF32) {
    why = fmt::format("{}, not float32", dtype_name(pv.info.dtype));
  } else if (pv.constant.numel() == 0) {
    why = "empty";
  } else if (first_reader[v] < 0) {
    std::vector<std::string> via = folded_consumers(v, first_reader);
    if (via.empty()) {
      why = "not read by any step";
    } else {
      std::string list;
      for (const auto& s : via) list += (list.empty() ? "'" : ", '") + s + "'";
      why =
          "folded: not swept (only nodes folded at plan time read it; its effect flows "
          "through folded constant " +
          list + (opts_.all_weights ? ", swept instead)" : ": sweep that instead)");
    }
  }
  if (!why.empty()) {
    SAVE_CHECK(!explicit_name, "cannot sweep '{}': {}", name, why);
    skipped_.push_back({name, why});
    return;
  }
  tensors_.push_back(
      {v, name, pv.folded, pv.constant.numel(), static_cast<size_t>(first_reader[v])});
}

void Sweep::select() {
  const Graph& g = session_.graph();
  const auto& values = plan_->values();
  std::vector<int64_t> first_reader(values.size(), -1);
  const auto& steps = plan_->steps();
  for (size_t s = steps.size(); s-- > 0;)
    for (ValueId v : steps[s].inputs)
      if (v != kNoId) first_reader[v] = static_cast<int64_t>(s);
  for (const std::string& name : opts_.tensors) {
    ValueId v = g.find_value(name);
    SAVE_CHECK(v != kNoId, "the model has no tensor named '{}'", name);
    add_tensor(v, first_reader, true);
  }
  if (!opts_.all_weights) return;
  std::vector<ValueId> all;
  for (ValueId v = 0; v < values.size(); ++v) {
    bool named = std::find(opts_.tensors.begin(), opts_.tensors.end(), g.values[v].name) !=
                 opts_.tensors.end();
    bool weight = values[v].storage == Storage::kConstant && values[v].region == Region::kDevice;
    // Folded constants nobody reads are plan-time intermediates, not memory
    // a run touches: leave them out silently.
    if (weight && !named && !(values[v].folded && first_reader[v] < 0)) all.push_back(v);
  }
  for (ValueId v : all) add_tensor(v, first_reader, false);
  // Sweep in step order: the report reads front to back through the model.
  std::stable_sort(
      tensors_.begin(), tensors_.end(),
      [](const SweepTensor& a, const SweepTensor& b) { return a.first_step < b.first_step; });
}

void Sweep::snapshot(size_t s0) {
  Plan& plan = session_.load_inputs(inputs_);
  SAVE_CHECK(&plan == plan_, "the validation batch changed plans");
  if (s0 > 0) {
    // Runs [0, s0) directly (no session hooks: nothing is flipped yet).
    StopBefore stop(s0);
    uint64_t epoch = session_.constants_epoch();
    Execution ex(plan, epoch);
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

BitEffect Sweep::compare() const {
  BitEffect e;
  const Graph& g = session_.graph();
  for (size_t o = 0; o < golden_.size(); ++o) {
    const Tensor& want = golden_[o];
    if (want.dtype() != DType::kF32) continue;
    const float* y = plan_->view(g.outputs[o]).ptr<float>();
    const float* y0 = want.ptr<float>();
    int64_t n = want.numel();
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(y[i])) {
        e.nonfinite = true;
        continue;
      }
      double d = std::fabs(static_cast<double>(y[i]) - y0[i]);
      e.max_abs = std::max(e.max_abs, d);
      e.max_rel = std::max(e.max_rel, d / std::max(std::fabs(static_cast<double>(y0[i])), 1e-6));
    }
  }
  if (e.nonfinite) e.max_abs = e.max_rel = INFINITY;
  if (!golden_top1_.empty()) {
    const Tensor& first = golden_.front();
    int64_t cols = first.shape().back();
    const float* y = plan_->view(g.outputs[0]).ptr<float>();
    std::vector<int64_t> now = top1_rows(y, first.numel() / cols, cols);
    for (size_t r = 0; r < now.size(); ++r)
      e.top1_changes += now[r] < 0 || now[r] != golden_top1_[r];
  }
  return e;
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
    uint64_t epoch = session_.constants_epoch();
    Execution ex(*plan_, epoch);
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

SweepSummary Sweep::run(const Callback& on_bit) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  SweepSummary sum;
  skipped_steps_ = 0;
  const uint64_t nbits = bits_.size();
  bool use_sample = sampled();
  uint64_t base = 0;
  const double tol = opts_.predict_tolerance;
  for (size_t ti = 0; ti < tensors_.size(); ++ti) {
    const SweepTensor& t = tensors_[ti];
    uint64_t count = static_cast<uint64_t>(t.elements) * nbits;
    auto first = std::lower_bound(sample_.begin(), sample_.end(), base);
    auto last = std::lower_bound(sample_.begin(), sample_.end(), base + count);
    if (use_sample && first == last) {
      base += count;
      continue;
    }
    snapshot(t.first_step);
    const std::vector<size_t> readers = plan_->readers(t.value);
    last_reader_ = readers.empty()
                       ? -1
                       : static_cast<int64_t>(*std::max_element(readers.begin(), readers.end()));
    auto one = [&](uint64_t i) {
      if (!wanted(ti, i)) return;
      BitEffect e = measure(t, static_cast<int64_t>(i / nbits), bits_[i % nbits]);
      if (tol > 0) {
        e.predicted_robust = masks_[ti][i / nbits] >> bits_[i % nbits] & 1u;
        const float w = plan_->values()[t.value].golden.ptr<float>()[i / nbits];
        const float flipped =
            std::bit_cast<float>(std::bit_cast<uint32_t>(w) ^ (1u << bits_[i % nbits]));
        e.consumer_bound = reader_change_[ti].bound(static_cast<double>(flipped) - w);
        sum.confusion.add(e, tol);
      }
      sum.stopped_early += e.stopped_early;
      sum.by_bit[static_cast<size_t>(e.bit)].add(e);
      ++sum.bits;
      if (on_bit) on_bit(t, e);
    };
    if (use_sample) {
      for (auto it = first; it != last; ++it) one(*it - base);
    } else if (!opts_.elements.empty()) {
      for (int64_t el : opts_.elements) {
        SAVE_CHECK(el >= 0 && el < t.elements, "element {} is outside '{}' ({} elements)", el,
                   t.name, t.elements);
        for (uint64_t b = 0; b < nbits; ++b) one(static_cast<uint64_t>(el) * nbits + b);
      }
    } else {
      for (uint64_t i = 0; i < count; ++i) one(i);
    }
    base += count;
  }
  sum.skipped_steps = skipped_steps_;
  sum.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return sum;
}

}  // namespace save
