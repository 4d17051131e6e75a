#include "protect/save_protection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "core/error.hpp"
#include "core/scoped_ms.hpp"
#include "exec/session.hpp"
#include "protect/allocation.hpp"
#include "protect/check_tables.hpp"
#include "protect/checker_thread.hpp"
#include "protect/checks.hpp"
#include "protect/flip_locator.hpp"
#include "protect/restart.hpp"
#include "protect/weight_repairs.hpp"

namespace save::protect {

namespace {

// Which check found a fault: a weight differing from its reference, a value
// out of its bounds when written or read, a stored value whose fingerprint
// changed.
enum class FailedCheck : uint8_t { kWeight, kRange, kChecksum };

const char* check_name(FailedCheck c) {
  switch (c) {
    case FailedCheck::kWeight:
      return "weight";
    case FailedCheck::kRange:
      return "range";
    case FailedCheck::kChecksum:
      return "checksum";
  }
  return "?";
}

// The check tables of one session plan, and the fingerprints taken when
// its values were written (by ValueId).
struct PlanState {
  CheckTables t;
  std::vector<Fingerprint> sums;
};

// Where the protection plans come from: a file made for fixed shapes, or
// the analysis run at each new input shape the session plans.
struct PlanSource {
  std::string path;  // non-empty: loaded from this file, refused for other shapes
  RangeOptions ranges;
  double tolerance = 1e-5;
  std::string model_sha256;
};

class SaveProtectionImpl final : public Protection, public ExecHooks {
 public:
  SaveProtectionImpl(Session& session, std::deque<ProtectionPlan> plans, PlanSource source,
                     Budget budget, CheckSettings settings, bool async_checks, std::FILE* log)
      : session_(session),
        plans_(std::move(plans)),
        source_(std::move(source)),
        budget_(budget),
        settings_(settings),
        log_(log),
        checker_(async_checks) {}

  // Non-default variants get their own name so campaigns keep them apart.
  std::string name() const override {
    std::string n = "save";
    if (settings_.range_only) n += "+range";
    if (settings_.weight_sums != kDefaultWeightSums) n += settings_.weight_sums ? "+wsum" : "+host";
    if (checker_.threaded()) n += "+async";
    return n;
  }
  ExecHooks* hooks() override { return this; }
  const RunReport* run_report() const override { return &report_; }

  void prepare(Session& session) override {
    for (Plan* p : session.plans()) state_for(*p);
  }

  void begin_trial(const FaultStatus* faults) override {
    faults_ = faults;
    int64_t reliable = report_.counts.reliable_bytes;
    report_.counts = {};
    report_.counts.reliable_bytes = reliable;
    report_.uncorrectable.clear();
    report_.inputs_outside_constraint = 0;
    alert_runs_ = 0;
  }

  ProtectionCounts end_trial() override { return report_.counts; }

  // ---- hooks ----

  void on_run_begin(Execution& ex) override {
    ScopedMs timer(report_.counts.read_check_ms, &report_.counts.check_ms);
    st_ = &state_for(ex.plan());
    retries_.clear();
    frontier_ = -1;
    weight_repairs_.clear();
    restarts_this_run_ = 0;
    gave_up_ = false;
    ranges_on_ = true;
    if (alert_runs_ > 0) --alert_runs_;
    const Plan& plan = ex.plan();
    const Graph& g = plan.graph();
    // Inputs: outside the constraint is the caller's doing, not a fault:
    // range checks would be meaningless for this run (checksums still hold).
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      ValueId v = g.inputs[i];
      const ValueCheck& c = st_->t.checks[v];
      if (c.kind == CheckKind::kNone && plan.values()[v].region != Region::kReliable) continue;
      const Tensor* host = ex.host_inputs() ? &(*ex.host_inputs())[i] : nullptr;
      const float* x = host ? host->ptr<const float>() : ex.value(v).ptr<const float>();
      if (!c.lo.empty() && !range_check(x, c.layout, c.lo.data(), c.hi.data())) {
        ranges_on_ = false;
        ++report_.inputs_outside_constraint;
      }
      // The reference checksum comes from the host copy: a flip that landed
      // on the device copy before step 0 is then caught at the first read.
      if (c.kind == CheckKind::kSum)
        masked_crc_into(x, static_cast<size_t>(plan.values()[v].nbytes / 4), c.mask, st_->sums[v]);
    }
  }

  // While weights are being hit (a weight fault in the last kAlertRuns
  // runs), each step's weights are also verified just before it reads
  // them: a flip that landed since the last check is then repaired from the
  // host copy before any kernel uses it, and nothing is re-run. The check
  // after the step stays: it is what catches a flip during the kernel (and
  // the only check while no weight fault has been seen, so fault-free runs
  // pay nothing for this).
  void before_step(Execution& ex, size_t step) override {
    if (alert_runs_ == 0 || gave_up_) return;
    Plan& plan = ex.plan();
    std::vector<const WeightCheck*> bad;
    {
      ScopedMs timer(report_.counts.weight_check_ms, &report_.counts.check_ms);
      for (const WeightCheck& w : st_->t.weights[step])
        if (!weight_ok(plan, w)) bad.push_back(&w);
    }
    if (bad.empty()) return;
    ScopedMs timer(report_.counts.recovery_ms);
    // Nothing may read device memory while it is repaired (the checker may
    // be verifying an earlier step's weights); what it found is handled by
    // the next after_step.
    checker_.wait_all();
    bool repaired = false;
    for (const WeightCheck* wp : bad) {
      const WeightCheck& w = *wp;
      const std::string& node = plan.graph().nodes[plan.steps()[step].node].name;
      ++report_.counts.detections;
      if (faults_ == nullptr || !faults_->any_flip_applied()) ++report_.counts.false_alarms;
      ++report_.counts.by_site[fmt::format("{}/{}", node, check_name(FailedCheck::kWeight))];
      if (weight_repairs_.came_back(plan, w.value)) {  // stuck: the repair did not hold
        report_.uncorrectable.push_back(
            {node, plan.graph().values[w.value].name, check_name(FailedCheck::kWeight)});
        ++report_.counts.uncorrectable;
        gave_up_ = true;
        return;
      }
      weight_repairs_.remember(plan, w.value);
      repaired |= repair_weight(ex, w.value);
      ++report_.counts.recoveries;
      ++report_.counts.corrections;
    }
    if (repaired) session_.restore_constants();
  }

  // Right after the kernel, before any flip can land on the fresh outputs:
  // each one is range-checked and fingerprinted in one pass over data still
  // in cache (on the critical path, as SAVE fuses its checks into the
  // kernel).
  void after_kernel(Execution& ex, size_t step) override {
    ScopedMs timer(report_.counts.write_check_ms, &report_.counts.check_ms);
    for (ValueId v : st_->t.write_checks[step]) {
      const ValueCheck& c = st_->t.checks[v];
      TensorView x = ex.value(v);
      if (!ranges_on_) {
        masked_crc_into(x.data, static_cast<size_t>(x.numel()), c.mask, st_->sums[v]);
      } else if (!range_check_and_crc(x.ptr<const float>(), c.layout, c.lo.data(), c.hi.data(),
                                      c.mask, st_->sums[v])) {
        pending_.push_back({step, v, FailedCheck::kRange});
      }
    }
  }

  size_t after_step(Execution& ex, size_t step) override {
    Plan& plan = ex.plan();
    const size_t next = step + 1;
    // Weights this step read: a flip in them means its outputs are suspect.
    // Persistent, so with --async-checks verified on the second core while
    // the next steps compute (the host checking while the accelerator goes
    // on); joined before the outputs are released.
    {
      ScopedMs timer(report_.counts.weight_check_ms, &report_.counts.check_ms);
      for (const WeightCheck& w : st_->t.weights[step]) {
        if (!checker_.threaded()) {  // the default: no task to wrap and queue
          if (!weight_ok(plan, w)) pending_.push_back({step, w.value, FailedCheck::kWeight});
          continue;
        }
        checker_.submit(
            [this, &plan, &w, step] {
              if (!weight_ok(plan, w)) async_failure({step, w.value, FailedCheck::kWeight});
            },
            plan.values()[w.value].constant.nbytes(), CheckerThread::Priority::kBeforeRelease);
      }
    }
    {
      ScopedMs timer(report_.counts.read_check_ms, &report_.counts.check_ms);
      // The inputs of the next step as they are now (flips land between
      // steps), on this thread: they must pass before the next flips land,
      // and handing each one over costs more than it takes
      // (docs/PROTECTION.md). After the last step: the outputs about to be
      // released, and every pending weight check.
      for (ValueId v : st_->t.read_checks[next])
        if (!value_ok(ex, v)) pending_.push_back({next, v, read_failure(v)});
      if (next == plan.steps().size()) checker_.wait_all();
      collect_async();
    }
    // Repairs count as recovery_ms, not as check time.
    size_t go = pending_.empty() ? next : recover(ex, step);
    frontier_ = std::max(frontier_, static_cast<int64_t>(step));
    return go;
  }

  // A kernel refused its data (a corrupted index, say): the step's weights
  // and inputs are verified now; if one of them is corrupted it is repaired
  // and the step re-runs, otherwise the error is genuine and propagates.
  bool on_kernel_error(Execution& ex, size_t step, size_t& next) override {
    checker_.wait_all();
    collect_async();
    for (const WeightCheck& w : st_->t.weights[step])
      if (!weight_ok(ex.plan(), w)) pending_.push_back({step, w.value, FailedCheck::kWeight});
    for (ValueId v : st_->t.read_checks[step])
      if (!value_ok(ex, v)) pending_.push_back({step, v, read_failure(v)});
    if (pending_.empty()) return false;
    next = recover(ex, step);
    return next <= step && !gave_up_;
  }

  void on_run_end(Execution& ex) override {}

 private:
  struct Failure {
    size_t step;  // the step whose output or input failed
    ValueId value;
    FailedCheck check;
  };

  // What a failed read check of `v` reports.
  FailedCheck read_failure(ValueId v) const {
    return st_->t.checks[v].kind == CheckKind::kRangeRead ? FailedCheck::kRange
                                                          : FailedCheck::kChecksum;
  }

  // A failure found by a task of the checker (which runs inline without the
  // thread).
  void async_failure(const Failure& f) {
    std::lock_guard<std::mutex> lock(async_mu_);
    async_failures_.push_back(f);
    has_async_failures_ = true;
  }

  void collect_async() {
    if (!has_async_failures_) return;  // the common case: no lock
    std::lock_guard<std::mutex> lock(async_mu_);
    has_async_failures_ = false;
    pending_.insert(pending_.end(), async_failures_.begin(), async_failures_.end());
    async_failures_.clear();
  }

  bool weight_ok(const Plan& plan, const WeightCheck& w) const {
    const PlannedValue& pv = plan.values()[w.value];
    if (w.by_sum)
      return masked_crc_matches(pv.constant.data(), pv.constant.nbytes() / 4, ~0u, w.golden_sum);
    return std::memcmp(pv.constant.data(), pv.golden.data(), pv.constant.nbytes()) == 0;
  }

  bool value_ok(Execution& ex, ValueId v) const {
    const ValueCheck& c = st_->t.checks[v];
    TensorView x = ex.value(v);
    if (c.kind == CheckKind::kRangeRead)
      return !ranges_on_ || range_check(x.ptr<const float>(), c.layout, c.lo.data(), c.hi.data());
    return masked_crc_matches(x.data, x.nbytes() / 4, c.mask, st_->sums[v]);
  }

  // Flips back the bits the fingerprint locates in `v` (one per 4 KiB block,
  // protect/flip_locator.hpp): the stored value is then bit for bit what its
  // kernel wrote, with no kernel re-run. True when that worked; several flips
  // in one block are not located and leave `v` as it was. The range check
  // afterwards is the second line against three or more flips in one block
  // passing for one.
  bool correct_in_place(Execution& ex, ValueId v) {
    const ValueCheck& c = st_->t.checks[v];
    TensorView x = ex.value(v);
    const size_t words = x.nbytes() / 4;
    auto* w = static_cast<uint32_t*>(x.data);
    auto sites = locate_flips(st_->sums[v], masked_crc(w, words, c.mask), words, c.mask);
    if (!sites || sites->empty()) return false;
    for (const FlipSite& f : *sites) w[f.word] ^= 1u << f.bit;
    if (ranges_on_ && !c.lo.empty() &&
        !range_check(x.ptr<const float>(), c.layout, c.lo.data(), c.hi.data())) {
      for (const FlipSite& f : *sites) w[f.word] ^= 1u << f.bit;
      return false;
    }
    ++report_.counts.corrections;
    return true;
  }

  // Re-runs step `step` by itself to rewrite `v` (corrupted after it was
  // written), when its inputs are intact and verified. True when `v` passes
  // its check afterwards.
  bool rerun_alone(Execution& ex, size_t step, ValueId v) {
    Plan& plan = ex.plan();
    if (!can_rerun_alone(plan, step, step_now_)) return false;
    for (ValueId u : plan.steps()[step].inputs)
      if (u != kNoId && st_->t.checks[u].kind != CheckKind::kNone && !value_ok(ex, u)) return false;
    ex.run_step(step);
    ++report_.counts.reexecuted_steps;
    for (ValueId o : st_->t.write_checks[step]) {
      const ValueCheck& c = st_->t.checks[o];
      TensorView x = ex.value(o);
      if (!ranges_on_)
        masked_crc_into(x.data, static_cast<size_t>(x.numel()), c.mask, st_->sums[o]);
      else if (!range_check_and_crc(x.ptr<const float>(), c.layout, c.lo.data(), c.hi.data(),
                                    c.mask, st_->sums[o]))
        return false;
    }
    return value_ok(ex, v);
  }

  // Copies the host bytes of weight `v` over its device copy; true when
  // they differed (then the kernels reading it repack).
  bool repair_weight(Execution& ex, ValueId v) {
    if (!ex.plan().restore_constant(v)) return false;
    ex.constant_changed(v);
    return true;
  }

  // Repairs what failed and returns the step to restart from.
  size_t recover(Execution& ex, size_t now) {
    ScopedMs timer(report_.counts.recovery_ms);
    step_now_ = now;
    // Nothing may read device memory while it is repaired; what the checker
    // found meanwhile is handled with the rest.
    checker_.wait_all();
    collect_async();
    Plan& plan = ex.plan();
    const Graph& g = plan.graph();
    // Outside a campaign nothing is flipped: every detection is a false alarm.
    bool flips_in = faults_ != nullptr && faults_->any_flip_applied();
    size_t restart = now + 1;
    std::vector<size_t> reload;
    bool weights_repaired = false, repaired_in_place = false;
    // A restart skips the read checks of the step it restarts at (they ran
    // in the previous step's after_step, possibly before a later flip), so
    // those are run here, which may move the restart earlier.
    size_t verified_from = now + 1;
    while (!pending_.empty()) {
      std::vector<Failure> failures;
      failures.swap(pending_);
      // Root causes first: a corrupted weight explains a range failure of
      // the step that read it, and is what a stuck bit is reported as.
      std::stable_partition(failures.begin(), failures.end(),
                            [](const Failure& f) { return f.check == FailedCheck::kWeight; });
      std::set<size_t> weight_repair_steps;
      for (const Failure& f : failures) {
        ++report_.counts.detections;
        if (!flips_in) ++report_.counts.false_alarms;
        const std::string& node =
            f.step < plan.steps().size() ? g.nodes[plan.steps()[f.step].node].name : "<outputs>";
        ++report_.counts.by_site[fmt::format("{}/{}", node, check_name(f.check))];
        const bool weight = f.check == FailedCheck::kWeight;
        // A weight whose repaired bits are wrong again is stuck; new flips
        // elsewhere in it are not. An activation cannot tell which bits
        // failed, but re-executed steps see no new flips (their moments have
        // passed): one failing again at the same place while the run replays
        // steps it already passed is stuck.
        auto key = std::make_pair(f.step, f.value);
        // A range failure of a step whose weight is repaired in this round
        // is explained by that weight (flipped again after an earlier repair
        // and re-read by the replay), not stuck.
        const bool replaying = static_cast<int64_t>(now) < frontier_;
        const bool explained = !weight && weight_repair_steps.count(f.step) > 0;
        bool stuck = weight ? weight_repairs_.came_back(plan, f.value)
                            : !explained && ((replaying && retries_[key] > 0) ||
                                             ++retries_[key] > kActivationRetries);
        if (weight && !stuck) weight_repair_steps.insert(f.step);
        if (stuck || restarts_this_run_ >= kMaxRestarts || gave_up_) {
          if (!gave_up_) {
            report_.uncorrectable.push_back({node, g.values[f.value].name, check_name(f.check)});
            ++report_.counts.uncorrectable;
          }
          gave_up_ = true;
          continue;
        }
        size_t from = f.step;
        if (weight) {
          alert_runs_ = kAlertRuns;
          weight_repairs_.remember(plan, f.value);
          weights_repaired |= repair_weight(ex, f.value);
        } else if (f.check == FailedCheck::kChecksum) {
          // Corrupted in memory after it was written: recompute it (a graph
          // input is copied in again from the host copy).
          const ValueCheck& c = st_->t.checks[f.value];
          if (c.input) {
            reload.push_back(c.input_index);  // nothing to re-run
            repaired_in_place = true;
            continue;
          }
          if (correct_in_place(ex, f.value)) {
            repaired_in_place = true;
            continue;
          }
          from = static_cast<size_t>(plan.values()[f.value].first_step);
          if (from < now && rerun_alone(ex, from, f.value)) {
            repaired_in_place = true;
            continue;
          }
        } else {
          // Out of range when written: a corrupted weight of this step.
          for (const WeightCheck& w : st_->t.weights[f.step])
            weights_repaired |= repair_weight(ex, w.value);
        }
        RestartPoint rp = restart_point(plan, std::min(from, now), now);
        restart = std::min(restart, rp.step);
        reload.insert(reload.end(), rp.reload_inputs.begin(), rp.reload_inputs.end());
      }
      if (gave_up_) break;
      for (size_t i : reload) ex.reload_input(i);
      reload.clear();
      if (restart < verified_from && restart <= now) {
        for (ValueId v : st_->t.read_checks[restart])
          if (!value_ok(ex, v)) pending_.push_back({restart, v, read_failure(v)});
        verified_from = restart;
      }
    }
    pending_.clear();
    // Folded copies in other plans; each restored value makes only its
    // readers repack (exec/constant_versions.hpp).
    if (weights_repaired) session_.restore_constants();
    if (gave_up_) return now + 1;
    if (restart > now) {
      report_.counts.recoveries += repaired_in_place || weights_repaired;
      return now + 1;
    }
    ++report_.counts.recoveries;
    ++report_.counts.restarts;
    ++restarts_this_run_;
    report_.counts.reexecuted_steps += static_cast<int64_t>(now + 1 - restart);
    return restart;
  }

  // The protection plan covering this session plan's input shapes: the
  // file's (refused with the mismatch when it does not cover them), or one
  // analysed at these shapes.
  const ProtectionPlan& protection_plan_for(const Plan& plan) {
    const std::vector<Shape> shapes = plan_input_shapes(plan);
    for (const ProtectionPlan& p : plans_)
      if (p.shapes.mismatch(shapes).empty()) return p;
    SAVE_CHECK(source_.path.empty(),
               "the protection plan '{}' was not made for this input shape: {}; re-run `save "
               "analyze MODEL --input-shape NAME=DIMS -o PLAN` for it, or run without --plan",
               source_.path, plans_.front().shapes.mismatch(shapes));
    RangeOptions ro = source_.ranges;
    const Graph& g = plan.graph();
    for (size_t i = 0; i < g.inputs.size(); ++i)
      ro.input_shapes[g.values[g.inputs[i]].name] = shapes[i];
    plans_.push_back(build_plan(session_, ro, source_.tolerance, source_.model_sha256));
    if (log_)
      fmt::print(log_, "save: analysed the model at {} in {:.2f} s (tolerance {:g})\n",
                 plans_.back().shapes.describe(), plans_.back().analysis_seconds,
                 plans_.back().tolerance);
    return plans_.back();
  }

  PlanState& state_for(Plan& plan) {
    auto it = states_.find(&plan);
    if (it != states_.end()) return *it->second;
    auto st = std::make_unique<PlanState>();
    build_checks(plan, *st, protection_plan_for(plan));
    PlanState& ref = *st;
    states_.emplace(&plan, std::move(st));
    return ref;
  }

  void build_checks(Plan& plan, PlanState& st, const ProtectionPlan& pp) {
    st.t = build_check_tables(plan, pp, budget_, settings_);
    st.sums.assign(plan.values().size(), {});
    apply_allocation(plan, st.t.alloc);
    report_.checked_values = st.t.checked;
    report_.range_only_values = st.t.range_only;
    report_.placed_values = static_cast<int64_t>(st.t.alloc.placed.size());
    report_.counts.reliable_bytes =
        std::max(report_.counts.reliable_bytes, st.t.alloc.used_bytes());
    if (log_) fmt::print(log_, "{}\n", describe_check_tables(plan, st.t, budget_, settings_));
  }

  // Runs after a weight fault during which weights are also verified before
  // their step (before_step): long enough to span a burst of faults, short
  // enough that a lone fault costs a few runs' extra weight checks.
  static constexpr int kAlertRuns = 16;
  // Per run: beyond this many restarts, report and stop.
  static constexpr int kMaxRestarts = 100000;
  // Failures of one activation in new territory before it counts as stuck
  // anyway (a safety net; the replay rule is the real test).
  static constexpr int kActivationRetries = 1000;

  Session& session_;
  std::deque<ProtectionPlan> plans_;  // stable references: PlanStates were built from them
  PlanSource source_;
  Budget budget_;
  CheckSettings settings_;
  std::FILE* log_;
  std::map<const Plan*, std::unique_ptr<PlanState>> states_;
  PlanState* st_ = nullptr;
  const FaultStatus* faults_ = nullptr;
  std::vector<Failure> pending_;
  std::map<std::pair<size_t, ValueId>, int> retries_;
  WeightRepairs weight_repairs_;  // this run
  int restarts_this_run_ = 0;
  int alert_runs_ = 0;  // runs left with weights verified before use too
  bool gave_up_ = false;
  int64_t frontier_ = -1;  // the furthest step whose after_step has run
  size_t step_now_ = 0;    // the step after which recover() runs
  bool ranges_on_ = true;
  RunReport report_;
  std::mutex async_mu_;
  std::vector<Failure> async_failures_;  // found on the checker thread
  std::atomic<bool> has_async_failures_{false};
  CheckerThread checker_;  // last: joined first on destruction
};

}  // namespace

std::unique_ptr<Protection> make_save_protection(Session& session, const ProtectionOptions& opts) {
  SAVE_CHECK(opts.weight_check == "host" || opts.weight_check == "checksum",
             "--weight-check must be 'host' or 'checksum' (got '{}')", opts.weight_check);
  SAVE_CHECK(opts.activation_check == "full" || opts.activation_check == "range",
             "--activation-check must be 'full' or 'range' (got '{}')", opts.activation_check);
  Budget budget = Budget::parse(opts.reliable_mem);
  std::deque<ProtectionPlan> plans;
  PlanSource source;
  source.ranges.input_ranges = opts.input_ranges;
  source.tolerance = opts.tolerance;
  source.model_sha256 = opts.model_sha256;
  if (!opts.plan_path.empty()) {
    source.path = opts.plan_path;
    plans.push_back(load_plan(opts.plan_path, opts.model_sha256, &session.graph().passes));
    for (const InputRange& r : plans.back().inputs) {
      auto it = opts.input_ranges.find(r.name);
      SAVE_CHECK(
          it == opts.input_ranges.end() || (it->second.first == r.lo && it->second.second == r.hi),
          "--input-range {}={}:{} differs from the plan's constraint [{}, {}]; re-run "
          "`save analyze` with it",
          r.name, it == opts.input_ranges.end() ? 0 : it->second.first,
          it == opts.input_ranges.end() ? 0 : it->second.second, r.lo, r.hi);
    }
  }
  // Without a plan file, each input shape the run plans is analysed when
  // first seen (protection_plan_for): bounds derived at the shapes that run.
  CheckSettings settings;
  settings.weight_sums = opts.weight_check == "checksum";
  settings.range_only = opts.activation_check == "range";
  return std::make_unique<SaveProtectionImpl>(session, std::move(plans), std::move(source), budget,
                                              settings, opts.async_checks, opts.log);
}

}  // namespace save::protect
