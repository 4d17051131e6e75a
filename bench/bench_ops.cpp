// Micro-benchmarks of our fast Conv and MatMul kernels. Each case is a
// one-node model planned by a Session (so the kernel, its oneDNN primitive and
// any weight repacking are exactly what a model run uses); the timed loop runs
// the plan's step only, without the Session's input validation and copies.
//
//   bench_ops [--threads=N] [Google Benchmark flags, e.g.
//              --benchmark_filter=Conv --benchmark_repetitions=5]
//
// Counters: GFLOP/s (2 FLOPs per multiply-add, wall clock), peak% =
// GFLOP/s / (SAVE_PEAK_GFLOPS_PER_CORE x threads), and GFLOP/cpu-s (per
// second of CPU time the process got: the per-core rate, robust to other
// processes on a shared machine). The PeakFma cases measure
// what a register-only FMA loop reaches on this machine (AVX2 and, where the
// CPU has it, AVX-512), to check the nominal peak.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_util.hpp"
#include "exec/session.hpp"

namespace save::bench {
namespace {

int g_threads = 1;

using Clock = std::chrono::steady_clock;

// CPU time of the whole process (all threads), in seconds.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Wall-clock and CPU-time stopwatch around a benchmark's timed loop.
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = process_cpu_seconds();
};

// GFLOP/s: wall clock. peak%: against the nominal peak x threads.
// GFLOP/cpu-s: per second of CPU time the process got; on a loaded machine
// (other processes taking the cores) this estimates the per-core rate of an
// idle machine. It counts OpenMP's idle spinning as CPU time, so it is a
// lower bound.
void set_counters(benchmark::State& state, double flops_per_iter, const Stopwatch& sw,
                  int threads) {
  double seconds = std::chrono::duration<double>(Clock::now() - sw.wall).count();
  double cpu = process_cpu_seconds() - sw.cpu;
  double flops = flops_per_iter * static_cast<double>(state.iterations());
  double gflops = seconds > 0 ? flops / seconds / 1e9 : 0;
  state.counters["GFLOP/s"] = gflops;
  state.counters["peak%"] = 100.0 * gflops / (kPeakGflopsPerCore * threads);
  state.counters["GFLOP/cpu-s"] = cpu > 0 ? flops / cpu / 1e9 : 0;
  state.counters["threads"] = threads;
}

// Plans `graph` for `inputs`, runs it once through Session::run (which also
// copies the inputs into the arena), then times the plan's steps alone.
void run_one_node(benchmark::State& state, Graph graph, const std::vector<Tensor>& inputs,
                  double flops) {
  SessionOptions opts;
  opts.threads = g_threads;
  Session session(std::move(graph), opts);
  session.run(inputs);  // builds the plan, primitives and repacked weights
  Plan& plan = session.plan_for(inputs);
  bool fast = true;
  for (const PlannedStep& st : plan.steps()) fast = fast && st.fast != nullptr;
  ConstantVersions versions;  // nothing changes the constants here
  Execution ex(plan, versions);
  execute_steps(plan, nullptr, ex);  // warm-up
  Stopwatch sw;
  for (auto _ : state) {
    execute_steps(plan, nullptr, ex);
    benchmark::ClobberMemory();
  }
  set_counters(state, flops, sw, g_threads);
  state.SetLabel(fast ? "fast kernel" : "REFERENCE kernel (no fast kernel)");
}

struct ConvCase {
  int64_t n, c, h, w, m, k;
};

void bm_conv(benchmark::State& state, ConvCase cc) {
  std::mt19937 rng(42);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{cc.k, cc.k});
  a.set("pads", std::vector<int64_t>{cc.k / 2, cc.k / 2, cc.k / 2, cc.k / 2});
  a.set("strides", std::vector<int64_t>{1, 1});
  Tensor w = random_tensor({cc.m, cc.c, cc.k, cc.k}, rng, -0.1f, 0.1f);
  Tensor b = random_tensor({cc.m}, rng, -0.1f, 0.1f);
  Graph g =
      one_node_graph("Conv", a, {{"x", {cc.n, cc.c, cc.h, cc.w}, {}}, {"w", {}, w}, {"b", {}, b}});
  Tensor x = random_tensor({cc.n, cc.c, cc.h, cc.w}, rng);
  // "same" padding, stride 1: output is n x m x h x w.
  double flops = 2.0 * static_cast<double>(cc.n * cc.m * cc.h * cc.w * cc.c * cc.k * cc.k);
  run_one_node(state, std::move(g), {x}, flops);
}

// [batch..., m, k] x [k, n] with the right operand a constant (a Linear
// layer's weight, as in the models).
void bm_matmul(benchmark::State& state, Shape a_shape, int64_t n) {
  std::mt19937 rng(42);
  int64_t k = a_shape.back();
  Tensor bw = random_tensor({k, n}, rng, -0.1f, 0.1f);
  Graph g = one_node_graph("MatMul", {}, {{"a", a_shape, {}}, {"b", {}, bw}});
  Tensor a = random_tensor(a_shape, rng);
  double flops = 2.0 * static_cast<double>(shape_numel(a_shape)) * static_cast<double>(n);
  run_one_node(state, std::move(g), {a}, flops);
}

// ---- peak: independent FMA chains in registers ----
constexpr int kChains = 12;  // > FMA latency (4) x pipes (2)

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], mul, add);
  __m256 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_add_ps(s, acc[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], mul, add);
  __m512 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

void bm_peak(benchmark::State& state, int width, int threads) {
  if (width == 16 && !__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("no AVX-512 on this CPU");
    return;
  }
  const int64_t iters = 1 << 20;
  float sink = 0;
  Stopwatch sw;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += width == 16 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
  }
  benchmark::DoNotOptimize(sink);
  set_counters(state, 2.0 * width * kChains * static_cast<double>(iters) * threads, sw, threads);
}

void register_all() {
  const std::string t = "/threads:" + std::to_string(g_threads);
  const ConvCase convs[] = {
      {1, 32, 28, 28, 32, 3}, {64, 32, 28, 28, 64, 3}, {64, 64, 56, 56, 64, 3}};
  for (const ConvCase& c : convs) {
    std::string name = "Conv/" + std::to_string(c.n) + "x" + std::to_string(c.c) + "x" +
                       std::to_string(c.h) + "x" + std::to_string(c.w) + "->" +
                       std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.k) +
                       t;
    benchmark::RegisterBenchmark(name.c_str(), bm_conv, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark(("MatMul/64x50x128*128x384" + t).c_str(), bm_matmul,
                               Shape{64, 50, 128}, int64_t{384})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("MatMul/1024x1024*1024x1024" + t).c_str(), bm_matmul,
                               Shape{1024, 1024}, int64_t{1024})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (int width : {8, 16}) {
    for (int threads : {1, g_threads}) {
      std::string name = std::string("PeakFma/") + (width == 8 ? "avx2" : "avx512") +
                         "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), bm_peak, width, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      if (threads == g_threads) break;  // g_threads == 1: register once
    }
  }
}

}  // namespace
}  // namespace save::bench

int main(int argc, char** argv) {
  using save::bench::g_threads;
  g_threads = omp_get_max_threads();
  // Our own flag, taken out before Google Benchmark sees argv.
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      g_threads = std::max(1, std::atoi(argv[i] + 10));
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("save_threads", std::to_string(g_threads));
  benchmark::AddCustomContext("peak_gflops_per_core",
                              std::to_string(save::bench::kPeakGflopsPerCore));
  save::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
