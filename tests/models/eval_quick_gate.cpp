// The README's main job in CI: `save eval models/fmnist-cnn.onnx --quick`
// through the real command line into a fresh folder. It must finish, write
// its files, run every mode (rednet may be skipped with the reason), show the
// unprotected model collapsing under 4,096 flips, and SAVE
// raising no false alarm on clean or out-of-distribution inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/eval_suite.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json* point(const json& mode, const std::string& scenario, int64_t flips) {
  for (const json& p : mode["points"])
    if (p["scenario"] == scenario && p["flips"] == flips) return &p;
  return nullptr;
}

TEST(EvalQuick, ReadmeMainJobRunsAndTellsTheStory) {
  fs::path dir = fs::temp_directory_path() / ("save_eval_quick_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path out = dir.string() + ".out";
  std::string cmd = std::string(SAVE_CLI) + " eval " + SAVE_SOURCE_DIR +
                    "/models/fmnist-cnn.onnx --out " + dir.string() + " --quick > " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string table = read(out);
  std::printf("%s", table.c_str());
  EXPECT_NE(table.find("Unprotected (none)"), std::string::npos) << table;
  for (const char* f : {"results.json", "results.csv", "report.md", "accurate_latency.svg",
                        "ood_false_alarms.svg", "accuracy_vs_flips_accumulated.svg"})
    EXPECT_TRUE(fs::is_regular_file(dir / f)) << f;

  json r = json::parse(read(dir / "results.json"));
  EXPECT_EQ(r["quick"], true);
  EXPECT_EQ(r["samples"], 1000);
  ASSERT_EQ(r["modes"].size(), save::eval::eval_modes().size());
  for (const json& m : r["modes"]) {
    // Only rednet may be missing (its retrained model is a separate file);
    // every other mode is built and must run, not vanish behind a note.
    if (m["status"] != "ran") {
      EXPECT_EQ(m["mode"], "rednet") << m.dump();
      EXPECT_FALSE(m["note"].get<std::string>().empty()) << m.dump();
      continue;
    }
    EXPECT_EQ(m["ood"].size(), 6u) << m["mode"];
    if (m["mode"] == "none") {
      const json* clean = point(m, "accumulated", 0);
      ASSERT_TRUE(clean);
      EXPECT_GT((*clean)["accuracy_mean"].get<double>(), 0.85);
      for (const char* sc : {"accumulated", "streaming"}) {
        const json* hit = point(m, sc, 4096);
        ASSERT_TRUE(hit) << sc;
        EXPECT_LT((*hit)["accuracy_mean"].get<double>(), 0.5) << sc << ": unprotected collapses";
      }
    }
    if (m["mode"] == "save") {
      // A sound range analysis never alarms without a fault.
      for (const json& p : m["points"]) {
        if (p["flips"] == 0) {
          EXPECT_EQ(p["false_alarms"], 0) << p.dump();
        }
      }
      for (const json& o : m["ood"]) {
        EXPECT_EQ(o["false_alarms"], 0) << o.dump();
        EXPECT_EQ(o["wrong_outputs"], 0) << o.dump();
      }
      // Nor in the interleaved timing rounds (fault-free too).
      EXPECT_EQ(m["latency_false_alarms"], 0) << m.dump();
    }
  }
  // Latency: every mode that ran, timed in interleaved rounds.
  const json& lat = r["latency"];
  ASSERT_FALSE(lat.is_null());
  EXPECT_EQ(lat["rounds"], 7);
  for (const json& m : r["modes"])
    if (m["status"] == "ran") {
      EXPECT_TRUE(lat["modes"].contains(m["mode"].get<std::string>())) << m["mode"];
    }
  EXPECT_NE(read(dir / "report.md").find("Latency, fault-free, interleaved"), std::string::npos);
  fs::remove_all(dir);
  fs::remove(out);
}

}  // namespace
