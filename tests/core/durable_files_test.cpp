// Durable file writes (src/core/files.*): a file written in pieces appears
// whole or not at all, and a failed or abandoned write leaves what was there.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/files.hpp"
#include "temp_dir.hpp"

namespace save {
namespace {

namespace fs = std::filesystem;

fs::path fresh(const std::string& name) {
  return test::fresh_dir("core_" + name);
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.exists() ? 1 : 0;
  return n;
}

TEST(AtomicFile, AppearsOnlyOnCommitAndWhole) {
  fs::path d = fresh("commit");
  const std::string path = (d / "out.csv").string();
  std::string want;
  {
    AtomicFile f(path);
    // More than the 64 KiB buffer, in small and large pieces.
    for (int i = 0; i < 20000; ++i) {
      std::string line = std::to_string(i) + ",x\n";
      f.write(line);
      want += line;
    }
    std::string big(size_t{100} << 10, 'b');
    f.write(big);
    want += big;
    EXPECT_FALSE(fs::exists(path)) << "visible before commit";
    EXPECT_TRUE(fs::exists(f.temp_path()));
    f.commit();
  }
  EXPECT_EQ(read_file_or_empty(path), want);
  EXPECT_EQ(entries(d), 1u) << "the temporary was left behind";
}

TEST(AtomicFile, AbandonedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  fs::path d = fresh("abandon");
  const std::string path = (d / "plan.json").string();
  write_file_atomic(path, "old\n");
  {
    AtomicFile f(path);
    f.write("new, half written");
  }  // no commit: an error unwound past it
  EXPECT_EQ(read_file_or_empty(path), "old\n");
  EXPECT_EQ(entries(d), 1u);
}

TEST(AtomicFile, UnwritableFolderNamesTheTarget) {
  try {
    AtomicFile f("/nonexistent-folder-for-save-tests/out.csv");
    FAIL() << "opened a file in a folder that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder-for-save-tests/out.csv"),
              std::string::npos)
        << e.what();
  }
}

TEST(DurableFiles, AppendedLinesAccumulate) {
  fs::path d = fresh("append");
  const std::string path = (d / "trials.jsonl").string();
  EXPECT_EQ(read_file_or_empty(path), "");
  append_line_durable(path, "a\n");
  append_line_durable(path, "b\n");
  EXPECT_EQ(read_file_or_empty(path), "a\nb\n");
}

// A line is in the file as soon as append() returns (a killed process keeps
// it), before any sync; a new appender starts the file afresh.
TEST(DurableFiles, LineAppenderLinesAreVisibleAtOnceAndANewOneTruncates) {
  fs::path d = fresh("appender");
  const std::string path = (d / "rank-0.log").string();
  {
    LineAppender log(path);
    log.append("x 1\n");
    EXPECT_EQ(read_file_or_empty(path), "x 1\n");
    log.append("y 2\n");
    EXPECT_EQ(read_file_or_empty(path), "x 1\ny 2\n");
  }
  EXPECT_EQ(read_file_or_empty(path), "x 1\ny 2\n");
  LineAppender again(path);
  EXPECT_EQ(read_file_or_empty(path), "");
}

TEST(DurableFiles, LineAppenderNamesAFileItCannotCreate) {
  fs::path d = fresh("appender_bad");
  try {
    LineAppender log((d / "missing" / "x.log").string());
    FAIL() << "created a file in a missing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/x.log"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace save
