// The sweep's driver (inject/sweep.hpp): set-up and the fault-free run, the
// walk over the planned bits, and the comparison of one re-run's outputs
// with the golden ones. Selection and sampling: sweep_select.cpp; snapshots
// and partial re-runs: sweep_rerun.cpp; the per-bit record and the
// prediction's confusion matrix: sweep_results.cpp.
#include "inject/sweep.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>

#include "analysis/robust_masks.hpp"
#include "core/error.hpp"
#include "core/row_rules.hpp"

namespace save {

namespace {

// Row-wise top-1 over the last axis, by the campaigns' rule
// (core/row_rules.hpp): -1 for a row holding a NaN, which always counts
// as changed.
std::vector<int64_t> top1_rows(const float* p, int64_t rows, int64_t cols) {
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) out[static_cast<size_t>(r)] = top1(p + r * cols, cols);
  return out;
}

}  // namespace

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
  run_golden();
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
  draw_sample();
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

SweepSummary Sweep::run(const Callback& on_bit, const Filter& take) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  SweepSummary sum;
  const uint64_t nbits = bits_.size();
  bool use_sample = sampled();
  uint64_t base = 0, element_base = 0, ordinal = 0;
  const double tol = opts_.predict_tolerance;
  for (size_t ti = 0; ti < tensors_.size(); ++ti) {
    const SweepTensor& t = tensors_[ti];
    uint64_t count = static_cast<uint64_t>(t.elements) * nbits;
    auto first = std::lower_bound(sample_.begin(), sample_.end(), base);
    auto last = std::lower_bound(sample_.begin(), sample_.end(), base + count);
    if (use_sample && first == last) {
      base += count;
      element_base += static_cast<uint64_t>(t.elements);
      continue;
    }
    // Taken lazily: a process that sweeps none of this tensor's bits (a
    // rank of a sharded sweep, a resumed one) skips its snapshot.
    bool ready = false;
    auto one = [&](uint64_t i) {
      if (!wanted(ti, i)) return;
      const BitSlot slot{ordinal++, element_base + i / nbits};
      if (take && !take(slot)) return;
      if (!ready) {
        snapshot(t.first_step);
        const std::vector<size_t> readers = plan_->readers(t.value);
        last_reader_ =
            readers.empty()
                ? -1
                : static_cast<int64_t>(*std::max_element(readers.begin(), readers.end()));
        ready = true;
      }
      const int64_t skipped_before = skipped_steps_;
      BitEffect e = measure(t, static_cast<int64_t>(i / nbits), bits_[i % nbits]);
      e.ordinal = slot.ordinal;
      e.skipped_steps = skipped_steps_ - skipped_before;
      if (tol > 0) {
        e.predicted_robust = masks_[ti][i / nbits] >> bits_[i % nbits] & 1u;
        const float w = plan_->values()[t.value].golden.ptr<float>()[i / nbits];
        const float flipped =
            std::bit_cast<float>(std::bit_cast<uint32_t>(w) ^ (1u << bits_[i % nbits]));
        e.consumer_bound = reader_change_[ti].bound(static_cast<double>(flipped) - w);
      }
      sum.add(e, tol);
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
    element_base += static_cast<uint64_t>(t.elements);
  }
  sum.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return sum;
}

}  // namespace save
