// `save run`'s timing report through the real command line: the cold start
// apart from the warm runs, --warmup / --repeat counted as asked, peak
// memory, and bad values refused. No assertion on how long anything takes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "data/npy.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kCli = SAVE_CLI;
const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";
const bool kHaveData = fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

struct Result {
  int code;
  std::string out, err;
};

fs::path unique(const std::string& name) {
  return fs::temp_directory_path() / ("save_timing_" + std::to_string(getpid()) + "_" + name);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Result run(const std::string& args) {
  fs::path out = unique("out.txt"), err = unique("err.txt");
  std::string cmd = kCli + " run " + args + " > " + out.string() + " 2> " + err.string();
  int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), slurp(out), slurp(err)};
}

nlohmann::json run_json(const std::string& args) {
  Result r = run(args + " --json");
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// A batch of 4 FashionMNIST-shaped images for --input runs.
std::string input_file() {
  fs::path p = unique("x.npy");
  save::Tensor t(save::DType::kF32, {4, 1, 28, 28});
  float* x = t.ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) x[i] = static_cast<float>(i % 97) / 97.0f;
  save::write_npy(p.string(), t);
  return p.string();
}

// The keys every `save run --json` has, old and new, with sane values.
void expect_timing_keys(const nlohmann::json& j) {
  for (const char* k :
       {"model", "samples", "batch", "threads", "accuracy", "latency_ms", "throughput_per_s",
        "cold_ms", "load_ms", "first_run_ms", "warmup", "warm_runs", "peak_rss_mb"})
    EXPECT_TRUE(j.contains(k)) << "missing key " << k << " in " << j.dump();
  EXPECT_GT(j["cold_ms"].get<double>(), 0);
  // Cold start is load/set-up plus the first run, both measured.
  EXPECT_GT(j["first_run_ms"].get<double>(), 0);
  EXPECT_NEAR(j["cold_ms"].get<double>(),
              j["load_ms"].get<double>() + j["first_run_ms"].get<double>(), 1e-6);
  EXPECT_GT(j["latency_ms"]["p50"].get<double>(), 0);
  EXPECT_GE(j["latency_ms"]["p90"].get<double>(), j["latency_ms"]["p50"].get<double>());
  EXPECT_GT(j["throughput_per_s"].get<double>(), 0);
  // The process at least holds the model's weights and the engine.
  EXPECT_GT(j["peak_rss_mb"].get<double>(), 1.0);
}

TEST(RunTiming, InputRunCountsWarmupAndRepeat) {
  std::string x = input_file();
  nlohmann::json j = run_json(kModel + " --input input=" + x + " --warmup 2 --repeat 5");
  expect_timing_keys(j);
  EXPECT_EQ(j["warmup"], 2);
  EXPECT_EQ(j["warm_runs"], 5);
  EXPECT_EQ(j["samples"], 4);
  EXPECT_TRUE(j["accuracy"].is_null());
}

TEST(RunTiming, InputRunDefaults) {
  nlohmann::json j = run_json(kModel + " --input input=" + input_file());
  EXPECT_EQ(j["warmup"], 3);
  EXPECT_EQ(j["warm_runs"], 10);
}

TEST(RunTiming, InputRunWritesTheSameOutputsWithAndWithoutRepeats) {
  std::string x = input_file();
  fs::path a = unique("outs_a"), b = unique("outs_b");
  ASSERT_EQ(
      run(kModel + " --input input=" + x + " --warmup 0 --repeat 1 --output " + a.string()).code,
      0);
  ASSERT_EQ(
      run(kModel + " --input input=" + x + " --warmup 4 --repeat 7 --output " + b.string()).code,
      0);
  for (const auto& f : fs::directory_iterator(a))
    EXPECT_EQ(slurp(f.path()), slurp(b / f.path().filename())) << f.path();
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(RunTiming, DataRunTimesTheBatchesAfterWarmup) {
  if (!kHaveData) GTEST_SKIP() << "no dataset-fashion-mnist";
  // 10 batches: 1 cold, 3 warm-up, 6 timed; every sample counts for accuracy.
  nlohmann::json j = run_json(kModel + " --data fashion-mnist --limit 100 --batch 10");
  expect_timing_keys(j);
  EXPECT_EQ(j["samples"], 100);
  EXPECT_FALSE(j["accuracy"].is_null());
  EXPECT_EQ(j["warmup"], 3);
  EXPECT_EQ(j["warm_runs"], 6);
  EXPECT_EQ(j["replayed_runs"], 0);
  EXPECT_EQ(j["excluded_runs"], 0);
}

TEST(RunTiming, DataRunLeavesTheShorterLastBatchUntimed) {
  if (!kHaveData) GTEST_SKIP() << "no dataset-fashion-mnist";
  // 9 full batches and one of 5: 1 cold, 3 warm-up, 5 timed, 1 excluded.
  nlohmann::json j = run_json(kModel + " --data fashion-mnist --limit 95 --batch 10");
  EXPECT_EQ(j["samples"], 95);
  EXPECT_EQ(j["warm_runs"], 5);
  EXPECT_EQ(j["excluded_runs"], 1);
}

TEST(RunTiming, DataRunRepeatTakesTheFirstBatchesAfterWarmup) {
  if (!kHaveData) GTEST_SKIP() << "no dataset-fashion-mnist";
  nlohmann::json j =
      run_json(kModel + " --data fashion-mnist --limit 100 --batch 10 --warmup 1 --repeat 4");
  EXPECT_EQ(j["warmup"], 1);
  EXPECT_EQ(j["warm_runs"], 4);
  EXPECT_EQ(j["replayed_runs"], 0);
}

TEST(RunTiming, DataRunReplaysWhenTheDatasetIsTooShortButCountsSamplesOnce) {
  if (!kHaveData) GTEST_SKIP() << "no dataset-fashion-mnist";
  nlohmann::json once =
      run_json(kModel + " --data fashion-mnist --limit 20 --batch 10 --warmup 0 --repeat 1");
  EXPECT_EQ(once["replayed_runs"], 0);
  // 2 batches, 1 cold: 2 more warm-up and 5 timed runs need 6 replays.
  nlohmann::json j =
      run_json(kModel + " --data fashion-mnist --limit 20 --batch 10 --warmup 2 --repeat 5");
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["warmup"], 2);
  EXPECT_EQ(j["warm_runs"], 5);
  EXPECT_EQ(j["replayed_runs"], 6);
  EXPECT_EQ(j["accuracy"], once["accuracy"]);
}

TEST(RunTiming, TextReportShowsColdStartApart) {
  Result r = run(kModel + " --input input=" + input_file() + " --warmup 1 --repeat 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("cold start"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 warm runs after 1 warm-up"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak memory"), std::string::npos) << r.out;
}

// One line "error: ..." naming the flag, exit 1.
void expect_flag_error(const std::string& flags, const std::string& flag) {
  Result r = run(kModel + " --input input=" + input_file() + " " + flags);
  EXPECT_EQ(r.code, 1) << flags;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(RunTiming, BadFlagsAreRefused) {
  expect_flag_error("--warmup=-1", "--warmup");
  expect_flag_error("--warmup 2000000", "--warmup");
  expect_flag_error("--repeat 0", "--repeat");
  expect_flag_error("--repeat=-3", "--repeat");
  expect_flag_error("--repeat 99999999", "--repeat");
}

}  // namespace
