// `save analyze` through the real command line: the JSON keys the issue
// fixes, totals that add up over the values, reliable bytes, and the
// bits_per_layer.svg written by --out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string run(const std::string& args) {
  std::string cmd = std::string(SAVE_CLI) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

TEST(AnalyzeCli, JsonTotalsAddUpAndSvgHasOneBarPerLayer) {
  const fs::path dir = fs::temp_directory_path() / ("save_analyze_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string model = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";
  const nlohmann::json j =
      nlohmann::json::parse(run("analyze " + model + " --json --out " + dir.string()));
  for (const char* key : {"model_sha256", "seconds", "totals", "values"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["model_sha256"].get<std::string>().size(), 64u);
  uint64_t robust = 0, ranging = 0, vulnerable = 0, reliable = 0;
  for (const auto& v : j["values"]) {
    ASSERT_TRUE(v["kind"] == "weight" || v["kind"] == "activation");
    if (!v.contains("robust_bits")) continue;
    robust += v["robust_bits"].get<uint64_t>();
    ranging += v["ranging_bits"].get<uint64_t>();
    vulnerable += v["vulnerable_bits"].get<uint64_t>();
    reliable += v["reliable_bytes"].get<uint64_t>();
    // Reliable bytes: 4 per element with a vulnerable bit, so never more
    // than 4 x the element count, and zero without vulnerable bits.
    const uint64_t bits = v["robust_bits"].get<uint64_t>() + v["ranging_bits"].get<uint64_t>() +
                          v["vulnerable_bits"].get<uint64_t>();
    EXPECT_LE(v["reliable_bytes"].get<uint64_t>(), bits / 8);
    if (v["vulnerable_bits"] == 0) {
      EXPECT_EQ(v["reliable_bytes"], 0);
    }
  }
  EXPECT_EQ(j["totals"]["robust_bits"].get<uint64_t>(), robust);
  EXPECT_EQ(j["totals"]["ranging_bits"].get<uint64_t>(), ranging);
  EXPECT_EQ(j["totals"]["vulnerable_bits"].get<uint64_t>(), vulnerable);
  EXPECT_EQ(j["totals"]["reliable_bytes"].get<uint64_t>(), reliable);
  EXPECT_GT(reliable, 0u);

  std::ifstream f(dir / "bits_per_layer.svg");
  ASSERT_TRUE(f.good());
  const std::string svg((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  // Each bar has up to 3 segments (<title>).
  size_t bars = 0;
  for (size_t at = svg.find("rotate(-60)"); at != std::string::npos;
       at = svg.find("rotate(-60)", at + 1))
    ++bars;
  // 9 after fusion (three Conv/Gemm + activation pairs are one step each).
  EXPECT_EQ(bars, 9u);
  fs::remove_all(dir);
}

TEST(AnalyzeCli, NoFuseAnalysesTheGraphAsWritten) {
  const fs::path dir = fs::temp_directory_path() / ("save_analyze_nf_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string model = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";
  const nlohmann::json fused = nlohmann::json::parse(run("analyze " + model + " --json"));
  const nlohmann::json plain =
      nlohmann::json::parse(run("analyze " + model + " --json --no-fuse --out " + dir.string()));
  // The values fusion removed (a conv output before its Relu) exist only as written.
  EXPECT_GT(plain["values"].size(), fused["values"].size());
  std::ifstream f(dir / "bits_per_layer.svg");
  const std::string svg((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t bars = 0;
  for (size_t at = svg.find("rotate(-60)"); at != std::string::npos;
       at = svg.find("rotate(-60)", at + 1))
    ++bars;
  EXPECT_EQ(bars, 12u);  // one per node of the model as written
  fs::remove_all(dir);
}

}  // namespace
