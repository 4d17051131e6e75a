// Reading files a user may have edited: a field of the wrong JSON type is
// reported as this project's Error naming the file, never as nlohmann's
// type_error (which names nothing, and which fuzz_trial_log found escaping
// the trial log reader as a crash of the harness).
#include "eval/trial_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "core/error.hpp"
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

TEST(ProtectionPlanFile, FieldsOfAnotherTypeAreNotAPlan) {
  for (const char* text : {R"({"format": 5})", R"({"format": null, "version": "x"})", "[1, 2]"}) {
    SCOPED_TRACE(text);
    const std::string e = error_of([&] { protect::parse_plan(text, "p.json", "", nullptr); });
    EXPECT_NE(e.find("'p.json' is not a SAVE protection plan"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace save
