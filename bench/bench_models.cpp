// Whole-model latency: our engine against ONNX Runtime on the same inputs.
//
//   bench_models [MODEL.onnx ...] [--threads N] [--batch 1,64] [--rounds R]
//                [--budget-s S] [--warmup W] [--json FILE|-] [--no-ort]
//                [--ort-spin BOOL] [--spatial 224] [--no-cold] [--profile]
//
// For each model and batch size: one Session of each engine with the same
// thread count (ours: SessionOptions::threads, OpenMP; ORT: intra-op N,
// inter-op 1, sequential execution), W warm-up runs of each, then R rounds of
// one run of each on the same random input in [0, 1). The order inside a
// round alternates (ours first in even rounds), so drift and the other
// engine's idle-spinning threads hit both sides alike. Reported: median
// latency of each, the median (and quartiles) of the per-round ratios
// ours/ORT, which is robust to the machine's noise, and the ratio of the
// fastest runs ("best": noise only adds time, so on a loaded machine this is
// the closest to an idle-machine ratio), and "cpu": the median per-round
// ratio of process CPU time (all threads), which other processes taking the
// cores do not inflate; with --threads > 1 it also counts idle spinning
// (OpenMP's and ORT's pools), so it is cleanest at --threads 1. The outputs
// of the two engines are compared (max |ours - ORT|). GFLOP/s counts the
// Conv, MatMul and Gemm multiply-adds of our plan (2 FLOPs each); peak% is
// against SAVE_PEAK_GFLOPS_PER_CORE x threads. --profile adds our time per op
// type (measured with executor hooks after the timed rounds).
//
// Cold start and peak memory are measured apart, in a fresh process per
// engine, model and batch (this program re-run with --child): cold = model
// load and session creation + the first run; peak = the child's VmHWM after
// the cold run and one warm run (the baseline, the process before loading the
// model, is reported too: both engines' libraries are linked into it).
//
// Built without ONNX Runtime (no SAVE_ORT_DIR), or with --no-ort, it times
// our engine alone.
#include <fmt/format.h>
#include <omp.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <thread>

#include "bench_util.hpp"
#include "core/error.hpp"
#include "core/peak_memory.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

#ifdef SAVE_WITH_ORT
#include <onnxruntime_cxx_api.h>
#endif

namespace save::bench {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Args {
  std::vector<std::string> models;
  int threads = 0;
  std::vector<int64_t> batches{1, 64};
  int rounds = 0;  // 0: 50 for batch <= 8, else 20
  int warmup = 5;
  uint32_t seed = 1;
  std::string json_path;
  bool no_ort = false;
  bool ort_spin = true;
  bool profile = false;
  double gap_ms = 0;
  double budget_s = 0;    // stop a model's rounds after this long (0: no limit)
  int64_t spatial = 224;  // size of unknown non-batch input dims (dynamic H/W)
  bool cold = true;       // measure cold start and peak memory in child processes
  std::string child;      // internal: "ours" or "ort", run as a child
  std::string self;       // this program, for the children
};

// What the CPU has and what oneDNN dispatches (ONEDNN_MAX_CPU_ISA lowers it).
std::string isa_summary() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  std::string have;
  for (const char* x :
       {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"})
    if (flags.find(std::string(" ") + x + " ") != std::string::npos)
      have += (have.empty() ? "" : " ") + std::string(x);
  const char* dispatch = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      dispatch = "sse41";
      break;
    case dnnl::cpu_isa::avx:
      dispatch = "avx";
      break;
    case dnnl::cpu_isa::avx2:
      dispatch = "avx2";
      break;
    case dnnl::cpu_isa::avx2_vnni:
      dispatch = "avx2_vnni";
      break;
    case dnnl::cpu_isa::avx512_core:
      dispatch = "avx512_core";
      break;
    case dnnl::cpu_isa::avx512_core_vnni:
      dispatch = "avx512_core_vnni";
      break;
    case dnnl::cpu_isa::avx512_core_bf16:
      dispatch = "avx512_core_bf16";
      break;
    case dnnl::cpu_isa::avx512_core_amx:
      dispatch = "avx512_core_amx";
      break;
    default:
      break;
  }
  return fmt::format("CPU flags: {}; oneDNN dispatches {}", have.empty() ? "none" : have, dispatch);
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(" \t", p + 1));
    }
  }
  return "unknown";
}

// The machine's load averages (1, 5, 15 min), as /proc/loadavg gives them:
// the benchmark shares the machine, so its numbers need this next to them.
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(f >> a >> b >> c)) return "unknown";
  return fmt::format("{:.2f} {:.2f} {:.2f}", a, b, c);
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads), in ms.
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

// Times one call: wall ms and process CPU ms.
template <typename F>
std::pair<double, double> timed(F&& f) {
  double c0 = process_cpu_ms();
  auto t0 = Clock::now();
  f();
  double wall = ms_since(t0);
  return {wall, process_cpu_ms() - c0};
}

// One model input as a model file declares it: -1 for a dynamic dim.
struct InputSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> dims;
};

std::vector<InputSpec> graph_inputs(const Graph& g) {
  std::vector<InputSpec> out;
  for (ValueId id : g.inputs) {
    const Value& v = g.values[id];
    InputSpec s{v.name, v.dtype == DType::kUndefined ? DType::kF32 : v.dtype, {}};
    for (const Dim& d : v.shape) s.dims.push_back(d.known() ? d.size : -1);
    if (!v.has_shape) s.dims = {-2};  // no declared shape
    out.push_back(std::move(s));
  }
  return out;
}

// The model's inputs at this batch: a dynamic leading dim becomes `batch`,
// other dynamic dims `spatial`. Returns nullopt (with a reason) when the
// model's batch is fixed to another size or an input has no shape.
std::optional<std::vector<Tensor>> make_inputs(const std::vector<InputSpec>& specs, int64_t batch,
                                               int64_t spatial, std::mt19937& rng,
                                               std::string& why) {
  std::vector<Tensor> out;
  for (const InputSpec& v : specs) {
    if (v.dims == std::vector<int64_t>{-2}) {
      why = fmt::format("input '{}' has no declared shape", v.name);
      return std::nullopt;
    }
    Shape s;
    for (size_t d = 0; d < v.dims.size(); ++d) {
      if (v.dims[d] >= 0) {
        if (d == 0 && v.dims[d] != batch) {
          why = fmt::format("input '{}' has a fixed batch of {}", v.name, v.dims[d]);
          return std::nullopt;
        }
        s.push_back(v.dims[d]);
      } else {
        s.push_back(d == 0 ? batch : spatial);  // dynamic batch, H/W or sequence
      }
    }
    if (v.dtype == DType::kF32) {
      out.push_back(random_tensor(s, rng));
    } else if (v.dtype == DType::kI64) {
      // Token ids: uniform in [0, 1000), inside any real vocabulary.
      Tensor t(DType::kI64, s);
      std::uniform_int_distribution<int64_t> ids(0, 999);
      for (int64_t i = 0; i < t.numel(); ++i) t.ptr<int64_t>()[i] = ids(rng);
      out.push_back(std::move(t));
    } else {
      out.push_back(Tensor(v.dtype, s));  // zeros
    }
  }
  return out;
}

struct Result {
  std::string model;
  int64_t batch = 0;
  int rounds = 0;
  std::vector<double> ours_ms, ort_ms, ratio;              // wall clock
  std::vector<double> ours_cpu_ms, ort_cpu_ms, cpu_ratio;  // process CPU time
  std::optional<double> max_abs_diff, max_abs_ref;
  PlanFlops flops;
  std::string error;
  json ours_cold, ort_cold;  // the children's reports (cold start, peak memory)
  struct OpTime {
    std::string op;
    bool fast = false;
    int steps = 0;
    double ms = 0;  // per run: sum over the op's steps of each step's median
  };
  std::vector<OpTime> profile;  // --profile: where our time goes, slowest first
};

// Wall time of each step of our plan, summed per op type (and kernel kind).
class StepTimer : public ExecHooks {
 public:
  void before_step(Execution& ex, size_t step) override { t0_ = Clock::now(); }
  size_t after_step(Execution& ex, size_t step) override {
    double ms = ms_since(t0_);
    if (ms_.size() <= step) ms_.resize(step + 1);
    ms_[step].push_back(ms);
    return step + 1;
  }

  std::vector<Result::OpTime> by_op(const Plan& plan) const {
    std::map<std::pair<std::string, bool>, Result::OpTime> agg;
    for (size_t s = 0; s < ms_.size() && s < plan.steps().size(); ++s) {
      const PlannedStep& st = plan.steps()[s];
      Result::OpTime& t = agg[{plan.graph().nodes[st.node].op, st.fast != nullptr}];
      t.op = plan.graph().nodes[st.node].op;
      t.fast = st.fast != nullptr;
      ++t.steps;
      t.ms += median(ms_[s]);  // robust to the odd descheduled step
    }
    std::vector<Result::OpTime> out;
    for (auto& [k, v] : agg) out.push_back(v);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
    return out;
  }

 private:
  Clock::time_point t0_;
  std::vector<std::vector<double>> ms_;  // per step, one sample per run
};

#ifdef SAVE_WITH_ORT
// An ORT session over a model file, run on our Tensors (inputs wrap our
// buffers; outputs are copied into Tensors for the comparison only).
class OrtRunner {
 public:
  OrtRunner(Ort::Env& env, const std::string& path, int threads, bool spin) {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(threads);
    so.SetInterOpNumThreads(1);
    so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    so.AddConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
    session_ = std::make_unique<Ort::Session>(env, path.c_str(), so);
    Ort::AllocatorWithDefaultOptions alloc;
    for (size_t i = 0; i < session_->GetInputCount(); ++i)
      in_names_.push_back(session_->GetInputNameAllocated(i, alloc).get());
    for (size_t i = 0; i < session_->GetOutputCount(); ++i)
      out_names_.push_back(session_->GetOutputNameAllocated(i, alloc).get());
    for (auto& s : in_names_) in_ptrs_.push_back(s.c_str());
    for (auto& s : out_names_) out_ptrs_.push_back(s.c_str());
  }

  // The inputs as ORT reads them from the file (for the cold-start child,
  // which must not load the model a second time through our importer).
  std::vector<InputSpec> input_specs() const {
    std::vector<InputSpec> out;
    for (size_t i = 0; i < in_names_.size(); ++i) {
      // The shape info is a view into the TypeInfo: keep that alive.
      Ort::TypeInfo type = session_->GetInputTypeInfo(i);
      auto info = type.GetTensorTypeAndShapeInfo();
      InputSpec s{in_names_[i], DType::kF32, info.GetShape()};
      if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) s.dtype = DType::kI64;
      out.push_back(std::move(s));
    }
    return out;
  }

  // Binds the inputs (must outlive the runs). Assumes the model's input order
  // matches ours (both read graph.input in file order).
  void bind(const std::vector<Tensor>& inputs) {
    SAVE_CHECK(inputs.size() == in_names_.size(), "ORT sees {} inputs, we have {}",
               in_names_.size(), inputs.size());
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    values_.clear();
    for (const Tensor& t : inputs) {
      SAVE_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kI64,
                 "the ORT harness binds float32 and int64 inputs only");
      if (t.dtype() == DType::kI64)
        values_.push_back(Ort::Value::CreateTensor<int64_t>(
            mem, const_cast<int64_t*>(t.ptr<int64_t>()), static_cast<size_t>(t.numel()),
            t.shape().data(), t.shape().size()));
      else
        values_.push_back(Ort::Value::CreateTensor<float>(mem, const_cast<float*>(t.ptr<float>()),
                                                          static_cast<size_t>(t.numel()),
                                                          t.shape().data(), t.shape().size()));
    }
  }

  std::vector<Ort::Value> run() {
    return session_->Run(Ort::RunOptions{nullptr}, in_ptrs_.data(), values_.data(), values_.size(),
                         out_ptrs_.data(), out_ptrs_.size());
  }

  static Tensor to_tensor(const Ort::Value& v) {
    auto info = v.GetTensorTypeAndShapeInfo();
    SAVE_CHECK(info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
               "the ORT harness compares float32 outputs only");
    std::vector<int64_t> shape = info.GetShape();
    Tensor t(DType::kF32, Shape(shape.begin(), shape.end()));
    std::memcpy(t.data(), v.GetTensorData<float>(), t.nbytes());
    return t;
  }

 private:
  std::unique_ptr<Ort::Session> session_;
  std::vector<std::string> in_names_, out_names_;
  std::vector<const char*> in_ptrs_, out_ptrs_;
  std::vector<Ort::Value> values_;
};
#endif

[[maybe_unused]] void compare(const std::vector<Tensor>& ours, const std::vector<Tensor>& ref,
                              Result& r) {
  SAVE_CHECK(ours.size() == ref.size(), "ours has {} outputs, ORT {}", ours.size(), ref.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    SAVE_CHECK(ours[i].shape() == ref[i].shape(), "output {}: ours {} vs ORT {}", i,
               shape_str(ours[i].shape()), shape_str(ref[i].shape()));
    SAVE_CHECK(ours[i].dtype() == DType::kF32, "output {} is not float32", i);
    const float* a = ours[i].ptr<float>();
    const float* b = ref[i].ptr<float>();
    for (int64_t k = 0; k < ours[i].numel(); ++k) {
      double d = std::abs(static_cast<double>(a[k]) - b[k]);
      diff = std::isnan(d) ? INFINITY : std::max(diff, d);
      scale = std::max(scale, std::abs(static_cast<double>(b[k])));
    }
  }
  r.max_abs_diff = diff;
  r.max_abs_ref = scale;
}

#ifdef SAVE_WITH_ORT
using OrtRunnerPtr = std::unique_ptr<OrtRunner>;
#else
using OrtRunnerPtr = std::nullptr_t;
#endif

Result bench_one(Session& ours, OrtRunnerPtr& ort, const std::string& model, int64_t batch,
                 const Args& args) {
  Result r;
  r.model = model;
  r.batch = batch;
  std::mt19937 rng(args.seed + static_cast<uint32_t>(batch));
  std::string why;
  auto inputs = make_inputs(graph_inputs(ours.graph()), batch, args.spatial, rng, why);
  if (!inputs) {
    r.error = "skipped: " + why;
    return r;
  }
  r.rounds = args.rounds > 0 ? args.rounds : (batch <= 8 ? 50 : 20);
  bool with_ort = false;
#ifdef SAVE_WITH_ORT
  with_ort = ort != nullptr;
  if (with_ort) ort->bind(*inputs);
#endif
  std::vector<Tensor> ours_out;
  for (int w = 0; w < std::max(1, args.warmup); ++w) {
    ours_out = ours.run(*inputs);
#ifdef SAVE_WITH_ORT
    if (with_ort) {
      auto ort_out = ort->run();
      if (w == 0) {
        std::vector<Tensor> ref;
        for (const auto& v : ort_out) ref.push_back(OrtRunner::to_tensor(v));
        compare(ours_out, ref, r);
      }
    }
#endif
  }
  r.flops = plan_flops(ours.plan_for(*inputs));
  const auto t_rounds = Clock::now();
  for (int i = 0; i < r.rounds; ++i) {
    // The budget cuts long models short, after an even number of rounds
    // (each engine first equally often) and at least 4.
    if (args.budget_s > 0 && i >= 4 && i % 2 == 0 && ms_since(t_rounds) > 1e3 * args.budget_s) {
      r.rounds = i;
      break;
    }
    bool ours_first = i % 2 == 0;
    std::pair<double, double> t_ours, t_ort;  // wall, cpu
    for (int side = 0; side < 2; ++side) {
      bool run_ours = (side == 0) == ours_first;
      if (args.gap_ms > 0)  // let the other engine's idle threads stop spinning
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(args.gap_ms));
      if (run_ours) {
        t_ours = timed([&] { ours.run(*inputs); });
      } else if (with_ort) {
#ifdef SAVE_WITH_ORT
        t_ort = timed([&] { ort->run(); });
#endif
      }
    }
    r.ours_ms.push_back(t_ours.first);
    r.ours_cpu_ms.push_back(t_ours.second);
    if (with_ort) {
      r.ort_ms.push_back(t_ort.first);
      r.ratio.push_back(t_ours.first / t_ort.first);
      r.ort_cpu_ms.push_back(t_ort.second);
      r.cpu_ratio.push_back(t_ours.second / std::max(t_ort.second, 1e-6));
    }
  }
  if (args.profile) {  // after the timed rounds: the hooks cost a little
    StepTimer timer;
    ours.set_hooks(&timer);
    for (int i = 0; i < r.rounds; ++i) ours.run(*inputs);
    ours.set_hooks(nullptr);
    r.profile = timer.by_op(ours.plan_for(*inputs));
  }
  return r;
}

std::string fmt_opt(const std::optional<double>& v, const char* spec) {
  return v ? fmt::format(fmt::runtime(spec), *v) : std::string("-");
}

json to_json(const Result& r, int threads) {
  json j;
  j["model"] = r.model;
  j["batch"] = r.batch;
  if (!r.error.empty()) {
    j["error"] = r.error;
    return j;
  }
  j["rounds"] = r.rounds;
  j["ours_ms_median"] = median(r.ours_ms);
  j["ours_ms_min"] = percentile(r.ours_ms, 0);
  j["ours_cpu_ms_median"] = median(r.ours_cpu_ms);
  if (!r.ratio.empty()) {
    j["ort_ms_median"] = median(r.ort_ms);
    j["ort_ms_min"] = percentile(r.ort_ms, 0);
    j["ratio_median"] = median(r.ratio);
    j["ratio_p25"] = percentile(r.ratio, 0.25);
    j["ratio_p75"] = percentile(r.ratio, 0.75);
    j["ratio_of_mins"] = percentile(r.ours_ms, 0) / percentile(r.ort_ms, 0);
    j["ort_cpu_ms_median"] = median(r.ort_cpu_ms);
    j["cpu_ratio_median"] = median(r.cpu_ratio);
  }
  if (r.max_abs_diff) {
    j["max_abs_diff"] = *r.max_abs_diff;
    j["max_abs_ort_output"] = *r.max_abs_ref;
  }
  double gflop = (r.flops.conv + r.flops.matmul) / 1e9;
  j["conv_gflop"] = r.flops.conv / 1e9;
  j["matmul_gflop"] = r.flops.matmul / 1e9;
  j["ours_gflops"] = gflop / (median(r.ours_ms) / 1e3);
  j["ours_peak_pct"] = 100.0 * gflop / (median(r.ours_ms) / 1e3) / (kPeakGflopsPerCore * threads);
  // Per second of CPU time: the per-core rate, robust to other processes
  // taking the cores (counts OpenMP idle spinning, so a lower bound).
  j["ours_gflop_per_cpu_s"] = gflop / (median(r.ours_cpu_ms) / 1e3);
  j["ours_peak_pct_per_cpu_s"] = 100.0 * gflop / (median(r.ours_cpu_ms) / 1e3) / kPeakGflopsPerCore;
  if (!r.ratio.empty()) j["ort_gflops"] = gflop / (median(r.ort_ms) / 1e3);
  j["plan_steps"] = r.flops.steps;
  j["plan_fast_steps"] = r.flops.fast_steps;
  if (!r.profile.empty()) {
    json p = json::array();
    for (const auto& t : r.profile)
      p.push_back({{"op", t.op}, {"fast", t.fast}, {"steps", t.steps}, {"ms", t.ms}});
    j["ours_profile"] = p;
  }
  // Cold start and peak memory (children; absent with --no-cold).
  if (!r.ours_cold.is_null()) j["ours_cold"] = r.ours_cold;
  if (!r.ort_cold.is_null()) j["ort_cold"] = r.ort_cold;
  auto both = [&](const char* key) {
    return r.ours_cold.contains(key) && r.ort_cold.contains(key) &&
           r.ort_cold[key].get<double>() > 0;
  };
  if (both("cold_ms"))
    j["cold_ratio"] = r.ours_cold["cold_ms"].get<double>() / r.ort_cold["cold_ms"].get<double>();
  if (both("peak_rss_mb"))
    j["peak_rss_ratio"] =
        r.ours_cold["peak_rss_mb"].get<double>() / r.ort_cold["peak_rss_mb"].get<double>();
  j["ours_ms"] = r.ours_ms;
  j["ours_cpu_ms"] = r.ours_cpu_ms;
  if (!r.ratio.empty()) {
    j["ort_ms"] = r.ort_ms;
    j["ort_cpu_ms"] = r.ort_cpu_ms;
  }
  return j;
}

// --child ENGINE: one engine, model and batch in this fresh process; prints
// one JSON line: create_ms (model load + session creation), first_run_ms,
// cold_ms (their sum), peak_rss_mb after the cold run and one warm run, and
// baseline_rss_mb (this process before the model).
int run_child(const Args& args) {
  SAVE_CHECK(args.models.size() == 1 && args.batches.size() == 1,
             "--child takes one model and one batch");
  const std::string& path = args.models[0];
  const int64_t batch = args.batches[0];
  const int threads = args.threads > 0 ? args.threads : omp_get_max_threads();
  json j;
  j["baseline_rss_mb"] = peak_rss_mib();
  std::mt19937 rng(args.seed + static_cast<uint32_t>(batch));
  std::string why;
  auto t0 = Clock::now();
  if (args.child == "ours") {
    SessionOptions so;
    so.threads = threads;
    Session s(import_onnx_file(path), so);
    j["create_ms"] = ms_since(t0);
    auto in = make_inputs(graph_inputs(s.graph()), batch, args.spatial, rng, why);
    SAVE_CHECK(in, "{}", why);
    auto t1 = Clock::now();
    s.run(*in);
    j["first_run_ms"] = ms_since(t1);
    s.run(*in);  // a warm run: the first may not touch everything
  } else if (args.child == "ort") {
#ifdef SAVE_WITH_ORT
    Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "save-bench-child");
    OrtRunner ort(env, path, threads, args.ort_spin);
    j["create_ms"] = ms_since(t0);
    auto in = make_inputs(ort.input_specs(), batch, args.spatial, rng, why);
    SAVE_CHECK(in, "{}", why);
    ort.bind(*in);
    auto t1 = Clock::now();
    ort.run();
    j["first_run_ms"] = ms_since(t1);
    ort.run();
#else
    SAVE_CHECK(false, "built without ONNX Runtime");
#endif
  } else {
    SAVE_CHECK(false, "--child must be 'ours' or 'ort', got '{}'", args.child);
  }
  j["cold_ms"] = j["create_ms"].get<double>() + j["first_run_ms"].get<double>();
  j["peak_rss_mb"] = peak_rss_mib();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// Runs this program as a --child and returns its JSON line, or {"error": ...}.
json cold_child(const Args& args, const std::string& engine, const std::string& path, int64_t batch,
                int threads) {
  std::string cmd = fmt::format(
      "'{}' --child {} --threads {} --batch {} --spatial {} --seed {} --ort-spin {} '{}' 2>&1",
      args.self, engine, threads, batch, args.spatial, args.seed, args.ort_spin ? 1 : 0, path);
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    int status = pclose(p);
    auto brace = out.rfind("\n{");
    std::string last = out.substr(brace == std::string::npos ? 0 : brace + 1);
    if (status == 0 && !last.empty() && last[0] == '{') return json::parse(last);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return json{{"error", out.empty() ? "child failed" : out}};
}

// Reads the file once so the first engine's cold start does not pay for
// the disk and the second's not gain from the page cache.
void warm_page_cache(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (f.read(buf.data(), static_cast<std::streamsize>(buf.size())) || f.gcount() > 0) {
  }
}

std::string cold_cell(const json& ours, const json& ort, const char* key, const char* spec) {
  auto one = [&](const json& j) {
    return j.contains(key) ? fmt::format(fmt::runtime(spec), j[key].get<double>())
                           : std::string("-");
  };
  return one(ours) + "/" + one(ort);
}

int run(const Args& args) {
  const int threads = args.threads > 0 ? args.threads : omp_get_max_threads();
  bool with_ort = false;
  std::string ort_version = "not built";
#ifdef SAVE_WITH_ORT
  with_ort = !args.no_ort;
  ort_version = Ort::GetVersionString();
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "save-bench");
#endif
  FILE* tab = args.json_path == "-" ? stderr : stdout;
  fmt::print(tab,
             "# {} | {} logical CPUs | threads {} | ONNX Runtime {}{} | peak {} GFLOP/s/core\n",
             cpu_model(), std::thread::hardware_concurrency(), threads, ort_version,
             with_ort ? (args.ort_spin ? " (spinning on)" : " (spinning off)") : " (not run)",
             kPeakGflopsPerCore);
  fmt::print(tab,
             "# {}; rounds alternate ours/ORT; ms = medians; ratio = median of per-round ours/ORT "
             "[p25 p75]; best = min(ours)/min(ORT); cpu = median per-round ratio of process CPU "
             "time\n",
             today());
  fmt::print(tab, "# ISA: {}\n", isa_summary());
  const std::string load_start = loadavg();
  fmt::print(tab, "# load average at start: {}\n", load_start);
  if (args.cold)
    fmt::print(tab,
               "# cold ms = model load + session creation + first run, peak MB = resident "
               "high-water mark, each engine in its own process (ours/ORT)\n");
  fmt::print(tab,
             "{:<22} {:>5} {:>6} {:>9} {:>9} {:>7} {:>13} {:>6} {:>6} {:>9} {:>8} {:>6} {:>15} "
             "{:>11}\n",
             "model", "batch", "rounds", "ours ms", "ORT ms", "ratio", "[p25 p75]", "best", "cpu",
             "max|diff|", "GFLOP/s", "peak%", "cold ms", "peak MB");
  std::vector<Result> results;
  int failures = 0;
  for (const std::string& path : args.models) {
    std::string name = path.substr(path.find_last_of('/') + 1);
    // Cold start and peak memory first, each in its own process, before
    // this process holds the model.
    std::map<int64_t, std::pair<json, json>> cold;
    if (args.cold) {
      warm_page_cache(path);
      for (int64_t batch : args.batches) {
        cold[batch].first = cold_child(args, "ours", path, batch, threads);
        if (with_ort) cold[batch].second = cold_child(args, "ort", path, batch, threads);
      }
    }
    std::unique_ptr<Session> ours;
    OrtRunnerPtr ort{};
    std::string load_error;
    try {
      SessionOptions so;
      so.threads = threads;
      ours = std::make_unique<Session>(import_onnx_file(path), so);
#ifdef SAVE_WITH_ORT
      if (with_ort) ort = std::make_unique<OrtRunner>(env, path, threads, args.ort_spin);
#endif
    } catch (const std::exception& e) {
      load_error = e.what();
    }
    for (int64_t batch : args.batches) {
      Result r;
      if (!load_error.empty()) {
        r.model = name;
        r.batch = batch;
        r.error = load_error;
      } else {
        try {
          r = bench_one(*ours, ort, name, batch, args);
        } catch (const std::exception& e) {
          r = Result{};
          r.model = name;
          r.batch = batch;
          r.error = e.what();
        }
      }
      if (args.cold) std::tie(r.ours_cold, r.ort_cold) = cold[batch];
      if (!r.error.empty()) {
        failures += r.error.rfind("skipped", 0) != 0;
        fmt::print(tab, "{:<22} {:>5}  ERROR: {}\n", name, batch, r.error);
      } else {
        double ours_med = median(r.ours_ms);
        double gflops = (r.flops.conv + r.flops.matmul) / 1e9 / (ours_med / 1e3);
        bool has_ort = !r.ratio.empty();
        auto if_ort = [&](auto f) { return has_ort ? f() : std::string("-"); };
        fmt::print(
            tab,
            "{:<22} {:>5} {:>6} {:>9.3f} {:>9} {:>7} {:>13} {:>6} {:>6} {:>9} {:>8.1f} {:>5.1f}% "
            "{:>15} {:>11}\n",
            name, batch, r.rounds, ours_med,
            if_ort([&] { return fmt::format("{:.3f}", median(r.ort_ms)); }),
            if_ort([&] { return fmt::format("{:.3f}", median(r.ratio)); }), if_ort([&] {
              return fmt::format("[{:.2f} {:.2f}]", percentile(r.ratio, 0.25),
                                 percentile(r.ratio, 0.75));
            }),
            if_ort([&] {
              return fmt::format("{:.3f}", percentile(r.ours_ms, 0) / percentile(r.ort_ms, 0));
            }),
            if_ort([&] { return fmt::format("{:.3f}", median(r.cpu_ratio)); }),
            fmt_opt(r.max_abs_diff, "{:.2e}"), gflops,
            100.0 * gflops / (kPeakGflopsPerCore * threads),
            cold_cell(r.ours_cold, r.ort_cold, "cold_ms", "{:.0f}"),
            cold_cell(r.ours_cold, r.ort_cold, "peak_rss_mb", "{:.0f}"));
        for (const json* c : {&r.ours_cold, &r.ort_cold})
          if (c->contains("error"))
            fmt::print(tab, "{:<22} {:>5}  cold-start child ({}) failed: {}\n", name, batch,
                       c == &r.ours_cold ? "ours" : "ORT", (*c)["error"].get<std::string>());
      }
      std::fflush(tab);
      results.push_back(std::move(r));
    }
  }
  if (args.profile) {
    fmt::print(tab,
               "\n# our time per op type: op(steps) ms per run (sum over the steps of each step's "
               "median), "
               "share (hooks on)\n");
    for (const Result& r : results) {
      if (r.profile.empty()) continue;
      double total = 0;
      for (const auto& t : r.profile) total += t.ms;
      std::string line = fmt::format("{} b{} ({:.3f} ms):", r.model, r.batch, total);
      for (const auto& t : r.profile)
        line += fmt::format("  {}{}({}) {:.3f} {:.0f}%", t.op, t.fast ? "" : "[ref]", t.steps, t.ms,
                            100.0 * t.ms / std::max(total, 1e-12));
      fmt::print(tab, "{}\n", line);
    }
  }
  if (!args.json_path.empty()) {
    json doc;
    doc["cpu"] = cpu_model();
    doc["logical_cpus"] = std::thread::hardware_concurrency();
    doc["threads"] = threads;
    doc["onnxruntime"] = ort_version;
    doc["ort_run"] = with_ort;
    doc["ort_intra_op_spinning"] = args.ort_spin;
    doc["peak_gflops_per_core"] = kPeakGflopsPerCore;
    doc["date"] = today();
    doc["isa"] = isa_summary();
    doc["loadavg_start"] = load_start;
    doc["loadavg_end"] = loadavg();
    doc["results"] = json::array();
    for (const Result& r : results) doc["results"].push_back(to_json(r, threads));
    if (args.json_path == "-") {
      std::printf("%s\n", doc.dump(2).c_str());
    } else {
      std::ofstream f(args.json_path);
      f << doc.dump(2) << "\n";
      SAVE_CHECK(f.good(), "cannot write '{}'", args.json_path);
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace save::bench

int main(int argc, char** argv) {
  save::bench::Args args;
  const std::string m = std::string(SAVE_SOURCE_DIR) + "/models/";
  args.models = {m + "fmnist-cnn.onnx", m + "fmnist-resnet.onnx", m + "fmnist-vit.onnx"};
  CLI::App app{"Whole-model latency, SAVE vs ONNX Runtime (see docs/PERF.md)"};
  app.add_option("models", args.models, "ONNX models (default: the three bundled models)");
  app.add_option("--threads", args.threads,
                 "threads for both engines (default: OpenMP's default, i.e. all cores)");
  app.add_option("--batch", args.batches, "batch sizes (default 1,64)")->delimiter(',');
  app.add_option("--rounds", args.rounds,
                 "timed rounds per model and batch (default 50 for batch <= 8, else 20)");
  app.add_option("--warmup", args.warmup, "warm-up runs of each engine (default 5)");
  app.add_option("--seed", args.seed, "seed of the random inputs");
  app.add_option("--json", args.json_path,
                 "also write the results as JSON to FILE ('-': stdout, "
                 "the table then goes to stderr)");
  app.add_flag("--no-ort", args.no_ort, "time our engine only");
  app.add_option("--gap-ms", args.gap_ms,
                 "sleep before each timed run, so the other engine's idle threads have stopped "
                 "spinning (default 0)");
  app.add_flag("--profile", args.profile,
               "after the rounds, time each step of our plan and print a per-op breakdown "
               "([ref]: the reference kernel ran)");
  app.add_option("--ort-spin", args.ort_spin,
                 "let ORT's intra-op threads spin while idle (ORT's default: true)");
  app.add_option("--budget-s", args.budget_s,
                 "stop a model's timed rounds after S seconds (at least 4 rounds; default: none)");
  app.add_option("--spatial", args.spatial,
                 "size of dynamic input dims other than the batch (default 224)");
  app.add_flag("--cold,!--no-cold", args.cold,
               "measure cold start and peak memory per engine in child processes (default on)");
  app.add_option("--child", args.child, "internal: run one engine as a cold-start child")
      ->group("");
  CLI11_PARSE(app, argc, argv);
  std::error_code ec;
  args.self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) args.self = argv[0];
  try {
    if (!args.child.empty()) return save::bench::run_child(args);
    return save::bench::run(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_models: %s\n", e.what());
    return 2;
  }
}
