// protect/report_json.hpp: every count and report field lands under its
// documented name with its own value (distinct values catch a field written
// under another's name), for `save run --json` and Python's m.report alike.
#include "protect/report_json.hpp"

#include <gtest/gtest.h>

namespace save::protect {
namespace {

ProtectionCounts distinct_counts() {
  ProtectionCounts c;
  c.detections = 1;
  c.false_alarms = 2;
  c.recoveries = 3;
  c.uncorrectable = 4;
  c.restarts = 5;
  c.reexecuted_steps = 6;
  c.corrections = 7;
  c.check_ms = 8.5;
  c.write_check_ms = 9.5;
  c.read_check_ms = 10.5;
  c.weight_check_ms = 11.5;
  c.recovery_ms = 12.5;
  c.reliable_bytes = 13;
  c.by_site = {{"conv1/range", 14}, {"fc/checksum", 15}};
  return c;
}

TEST(ReportJson, EveryCountUnderItsName) {
  nlohmann::json j = to_json(distinct_counts());
  EXPECT_EQ(j.size(), 11u) << j.dump();
  EXPECT_EQ(j["detections"], 1);
  EXPECT_EQ(j["false_alarms"], 2);
  EXPECT_EQ(j["recoveries"], 3);
  EXPECT_EQ(j["uncorrectable"], 4);
  EXPECT_EQ(j["restarts"], 5);
  EXPECT_EQ(j["reexecuted_steps"], 6);
  EXPECT_EQ(j["corrections"], 7);
  EXPECT_EQ(j["check_ms"], 8.5);
  EXPECT_EQ(
      j["check_split_ms"],
      nlohmann::json({{"write", 9.5}, {"read", 10.5}, {"weights", 11.5}, {"recovery", 12.5}}));
  EXPECT_EQ(j["reliable_bytes"], 13);
  EXPECT_EQ(j["detections_by_site"], nlohmann::json({{"conv1/range", 14}, {"fc/checksum", 15}}));
}

TEST(ReportJson, RunReportAddsItsSitesAndValueCounts) {
  RunReport r;
  r.counts = distinct_counts();
  r.uncorrectable = {{"conv1", "conv1_out", "range"}, {"fc", "fc.weight", "weight"}};
  r.inputs_outside_constraint = 16;
  r.checked_values = 17;
  r.range_only_values = 18;
  r.placed_values = 19;
  nlohmann::json j = to_json(r);
  nlohmann::json counts = to_json(r.counts);
  for (const auto& [k, v] : counts.items()) EXPECT_EQ(j[k], v) << k;
  EXPECT_EQ(j.size(), counts.size() + 5) << j.dump();
  ASSERT_EQ(j["uncorrectable_sites"].size(), 2u);
  EXPECT_EQ(j["uncorrectable_sites"][1],
            nlohmann::json({{"node", "fc"}, {"value", "fc.weight"}, {"check", "weight"}}));
  EXPECT_EQ(j["inputs_outside_constraint"], 16);
  EXPECT_EQ(j["checked_values"], 17);
  EXPECT_EQ(j["range_only_values"], 18);
  EXPECT_EQ(j["placed_values"], 19);
  // No sites: an empty list, not null (Python's report reads it as []).
  EXPECT_TRUE(to_json(RunReport{})["uncorrectable_sites"].is_array());
}

}  // namespace
}  // namespace save::protect
