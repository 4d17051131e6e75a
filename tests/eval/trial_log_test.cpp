// Reading files a user may have edited: a field of the wrong JSON type is
// reported as this project's Error naming the file, never as nlohmann's
// type_error (which names nothing, and which fuzz_trial_log found escaping
// the trial log reader as a crash of the harness).
#include "eval/trial_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "core/error.hpp"
#include "eval/trial.hpp"
#include "protect/protection_plan.hpp"
#include "temp_dir.hpp"

namespace save {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not save::Error: ") + e.what();
  }
  return "no error";
}

TEST(TrialLog, ContextIdOfAnotherTypeIsAnotherCampaign) {
  const auto dir = test::fresh_dir("trial_log_types");
  for (const char* ctx : {"5", "null", "[\"a\"]", "{\"x\": 1}", "\"fedcba9876543210\""}) {
    SCOPED_TRACE(ctx);
    const std::string path = (dir / "trials.jsonl").string();
    std::ofstream(path) << "{\"context_id\": " << ctx << ", \"flips\": 1}\n";
    const std::string e = error_of([&] { eval::TrialLog log(path, "0123456789abcdef"); });
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("belongs to another campaign"), std::string::npos) << e;
  }
}

// fuzz_trial_log: "flips": 1e72 reached nlohmann's get<int64_t>(), a
// float-to-int cast out of range (UB). Counts must be integers in range.
TEST(TrialLog, CountsThatAreNotIntegersAreRefusedByName) {
  const nlohmann::json good = eval::TrialResult{}.to_json();
  EXPECT_NO_THROW(eval::TrialResult::from_json(good));
  for (const char* key : {"flips", "samples", "detections", "restarts", "bits_per_word"}) {
    for (const nlohmann::json& bad :
         {nlohmann::json(1e72), nlohmann::json(2.5), nlohmann::json("7"), nlohmann::json(-1e300)}) {
      SCOPED_TRACE(std::string(key) + " = " + bad.dump());
      nlohmann::json j = good;
      j[key] = bad;
      const std::string e = error_of([&] { eval::TrialResult::from_json(j); });
      EXPECT_NE(e.find(std::string("field '") + key + "'"), std::string::npos) << e;
    }
  }
  // An int beyond int's range for an int field.
  nlohmann::json j = good;
  j["burst_length"] = int64_t{1} << 40;
  EXPECT_NE(error_of([&] { eval::TrialResult::from_json(j); }).find("'burst_length'"),
            std::string::npos);
}

TEST(ProtectionPlanFile, FieldsOfAnotherTypeAreNotAPlan) {
  for (const char* text : {R"({"format": 5})", R"({"format": null, "version": "x"})", "[1, 2]"}) {
    SCOPED_TRACE(text);
    const std::string e = error_of([&] { protect::parse_plan(text, "p.json", "", nullptr); });
    EXPECT_NE(e.find("'p.json' is not a SAVE protection plan"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace save
