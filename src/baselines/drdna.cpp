// `--protect drdna`, in the manner of Dr.DNA (Ma et al., "Dr. DNA:
// Combating Silent Data Corruptions in Deep Learning using Distribution of
// Neuron Activations", ASPLOS'24): per-layer signatures of the activation
// distribution are profiled on training data; at run time a layer output
// that departs from its signature is flagged and its outliers patched.
//
// Monitored layers: every activation output (common.hpp activation_values)
// and every Conv / Gemm / MatMul output. Signature per layer, from
// opts.profile_samples training images:
//  - element bounds [lo, hi] widened by kMargin of their span (Dr.DNA
//    flags values outside the profiled distribution, with a margin to keep
//    false positives down);
//  - the mean of each channel (dim 1 of N x C x ... outputs, the last dim of
//    N x T x C token outputs), the value an outlier is patched to;
//  - the distribution of the per-image layer mean (its mean and standard
//    deviation over the profiling images).
// At run time, after each monitored step: elements outside the widened
// bounds (or NaN/Inf) are replaced by their channel mean (detection
// "outlier"); then an image whose layer mean is more than kSigmas standard
// deviations from the profiled one is flagged (detection "distribution";
// nothing to patch at that granularity, so it only counts).
#include <algorithm>
#include <cmath>
#include <map>

#include "baselines/modes.hpp"

namespace save::baselines {

namespace {

constexpr double kMargin = 0.1;
constexpr double kSigmas = 6.0;

struct Signature {
  float lo = INFINITY, hi = -INFINITY;
  std::vector<double> channel_sum;   // profiling: sums; then the means
  double channel_count = 0;          // elements per channel seen
  double mean_sum = 0, mean_sq = 0;  // per-image layer mean: sum, sum of squares
  int64_t images = 0;
  std::vector<float> channel_mean;
  double mean_mu = 0, mean_sigma = 0;
};

// Channel layout of an output: (images, channels, inner) with channel c of
// image n, element i at (n * C + c) * inner + i for NC... layouts, and at
// (n * T + t) * C + c for N x T x C (rank 3 token tensors).
struct Layout {
  int64_t images = 1, channels = 1, inner = 1;
  bool channels_last = false;
};

Layout layout_of(const TensorView& v) {
  Layout l;
  if (v.rank() == 0) return l;
  l.images = v.dim(0);
  if (v.rank() == 3) {
    l.channels_last = true;
    l.channels = v.dim(2);
    l.inner = v.dim(1);
  } else if (v.rank() >= 2) {
    l.channels = v.dim(1);
    l.inner = v.numel() / std::max<int64_t>(1, l.images * l.channels);
  }
  return l;
}

template <typename F>
void for_each_element(const Layout& l, F&& f) {  // f(image, channel, flat index)
  for (int64_t n = 0; n < l.images; ++n)
    for (int64_t c = 0; c < l.channels; ++c)
      for (int64_t i = 0; i < l.inner; ++i) {
        int64_t k = l.channels_last ? (n * l.inner + i) * l.channels + c
                                    : (n * l.channels + c) * l.inner + i;
        f(n, c, k);
      }
}

bool monitored_op(std::string_view op) {
  // Fused nodes (ops/fused.hpp) store their chain's output in place of the
  // linear layer's.
  return op == "Conv" || op == "Gemm" || op == "MatMul" || op == "FusedConv" || op == "FusedGemm" ||
         op == "FusedMatMul";
}

class Profiler : public ExecHooks {
 public:
  explicit Profiler(std::map<ValueId, Signature>& s) : sigs(s) {}
  std::map<ValueId, Signature>& sigs;

  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    for (size_t o = 0; o < st.outputs.size(); ++o) {
      auto it = sigs.find(st.outputs[o]);
      const TensorView& v = st.out_views[o];
      if (it == sigs.end() || v.dtype != DType::kF32) continue;
      Signature& s = it->second;
      Layout l = layout_of(v);
      if (s.channel_sum.empty()) s.channel_sum.assign(static_cast<size_t>(l.channels), 0.0);
      const float* p = v.ptr<const float>();
      std::vector<double> image_sum(static_cast<size_t>(l.images), 0.0);
      for_each_element(l, [&](int64_t n, int64_t c, int64_t k) {
        float x = p[k];
        s.lo = std::min(s.lo, x);
        s.hi = std::max(s.hi, x);
        s.channel_sum[static_cast<size_t>(c)] += x;
        image_sum[static_cast<size_t>(n)] += x;
      });
      s.channel_count += static_cast<double>(l.images * l.inner);
      double per_image = static_cast<double>(l.channels * l.inner);
      for (double sum : image_sum) {
        double m = sum / per_image;
        s.mean_sum += m;
        s.mean_sq += m * m;
      }
      s.images += l.images;
    }
    return step + 1;
  }
};

class DrDna : public ProfiledBaseline {
 public:
  using ProfiledBaseline::ProfiledBaseline;
  std::string name() const override { return "drdna"; }

  void profile(Session& session) override {
    std::map<ValueId, Signature> sigs;
    for (Plan* plan : session.plans()) {
      for (ValueId v : activation_values(*plan)) sigs[v];
      for (const PlannedStep& st : plan->steps())
        if (monitored_op(st.def->name))
          for (ValueId v : st.outputs)
            if (v != kNoId) sigs[v];
    }
    Profiler probe(sigs);
    int64_t n = run_profile(session, opts_, probe);
    for (auto& [v, s] : sigs) {
      if (s.images == 0 || !(s.lo <= s.hi)) continue;
      float margin = static_cast<float>(kMargin * (static_cast<double>(s.hi) - s.lo));
      s.lo -= margin;
      s.hi += margin;
      for (double sum : s.channel_sum)
        s.channel_mean.push_back(static_cast<float>(sum / std::max(1.0, s.channel_count)));
      double images = static_cast<double>(s.images);
      s.mean_mu = s.mean_sum / images;
      s.mean_sigma = std::sqrt(std::max(0.0, s.mean_sq / images - s.mean_mu * s.mean_mu));
      sigs_[v] = std::move(s);
    }
    if (opts_.log)
      std::fprintf(opts_.log, "drdna: %zu layer signatures profiled on %lld images\n", sigs_.size(),
                   static_cast<long long>(n));
  }

  size_t after_step(Execution& ex, size_t step) override {
    const PlannedStep& st = ex.plan().steps()[step];
    int64_t outliers = 0, shifted = 0;
    {
      ScopedMs t(counts_.check_ms);
      for (size_t o = 0; o < st.outputs.size(); ++o) {
        auto it = sigs_.find(st.outputs[o]);
        const TensorView& v = st.out_views[o];
        if (it == sigs_.end() || v.dtype != DType::kF32) continue;
        const Signature& s = it->second;
        Layout l = layout_of(v);
        if (static_cast<size_t>(l.channels) != s.channel_mean.size()) continue;
        float* p = v.ptr<float>();
        image_sum_.assign(static_cast<size_t>(l.images), 0.0);
        // Contiguous runs (one channel's positions, or one token's channels):
        // a read-only, branch-free pass the compiler vectorises; only a run
        // that holds an outlier is written (patched) in a second pass.
        auto patch_run = [&](float* q, int64_t len, const float* mean, int64_t mean_step) {
          float acc = 0;
          int64_t bad = 0;
          for (int64_t i = 0; i < len; ++i) {
            float x = q[i];
            bool out = !(x >= s.lo && x <= s.hi);  // also NaN
            bad += out;
            acc += out ? 0.f : x;
          }
          if (bad > 0) {
            for (int64_t i = 0; i < len; ++i)
              if (!(q[i] >= s.lo && q[i] <= s.hi)) {
                q[i] = mean[i * mean_step];
                acc += q[i];
              }
            outliers += bad;
          }
          return static_cast<double>(acc);
        };
        for (int64_t n = 0; n < l.images; ++n) {
          double& sum = image_sum_[static_cast<size_t>(n)];
          if (!l.channels_last) {
            for (int64_t c = 0; c < l.channels; ++c)
              sum += patch_run(p + (n * l.channels + c) * l.inner, l.inner,
                               &s.channel_mean[static_cast<size_t>(c)], 0);
          } else {
            for (int64_t i = 0; i < l.inner; ++i)
              sum += patch_run(p + (n * l.inner + i) * l.channels, l.channels,
                               s.channel_mean.data(), 1);
          }
        }
        std::vector<double>& image_sum = image_sum_;
        double per_image = static_cast<double>(l.channels * l.inner);
        double limit = kSigmas * s.mean_sigma;
        for (double sum : image_sum) shifted += std::abs(sum / per_image - s.mean_mu) > limit;
      }
    }
    if (outliers > 0) {
      detected(ex, step, "outlier");
      ++counts_.recoveries;  // patched to the channel mean
    }
    if (shifted > 0) detected(ex, step, "distribution");
    return step + 1;
  }

 protected:
  // The signatures: what a deployment keeps in reliable memory.
  int64_t reliable_bytes() const override {
    int64_t b = 0;
    for (const auto& [v, s] : sigs_)
      b += static_cast<int64_t>((4 + s.channel_mean.size()) * sizeof(float));
    return b;
  }

 private:
  std::map<ValueId, Signature> sigs_;
  std::vector<double> image_sum_;  // per image of the batch, reused
};

}  // namespace

std::unique_ptr<protect::Protection> make_drdna(const protect::ProtectionOptions& opts) {
  return std::make_unique<DrDna>(opts);
}

}  // namespace save::baselines
