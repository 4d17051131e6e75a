// Output-folder guards (src/eval/files.*): one writer per folder, folders
// of one kind refusing the other.
#include "eval/files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "temp_dir.hpp"

namespace save::eval {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  return test::fresh_dir(name);
}

TEST(FolderLock, SecondWriterIsRefusedUntilTheFirstLetsGo) {
  fs::path d = fresh("lock");
  {
    FolderLock first(d.string());
    try {
      FolderLock second(d.string());
      FAIL() << "a second lock on the same folder was granted";
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("in use by another save process"), std::string::npos) << m;
      EXPECT_NE(m.find("pid " + std::to_string(getpid())), std::string::npos) << m;
    }
  }
  EXPECT_NO_THROW(FolderLock again(d.string()));
}

TEST(FolderKind, EachKindRefusesTheOther) {
  fs::path camp = fresh("kind_campaign"), ev = fresh("kind_eval");
  std::ofstream(camp / "campaign.json") << "{}";
  std::ofstream(ev / "eval.json") << "{}";
  EXPECT_NO_THROW(refuse_other_kind(camp.string(), FolderKind::kCampaign));
  EXPECT_NO_THROW(refuse_other_kind(ev.string(), FolderKind::kEval));
  EXPECT_THROW(refuse_other_kind(camp.string(), FolderKind::kEval), Error);
  EXPECT_THROW(refuse_other_kind(ev.string(), FolderKind::kCampaign), Error);
}

}  // namespace
}  // namespace save::eval
