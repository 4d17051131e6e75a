// Files that survive a kill: whole files are written to a temporary name in
// the same folder and renamed into place (readers never see half a file),
// and log lines are appended with one write() and an fsync so a finished
// record is on disk before the next one starts. Every result, plan and
// record file of the CLI is written through here.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace save {

// A file written in pieces and put in place only by commit(): the pieces go
// to PATH.tmp.<pid>; commit() fsyncs and renames it over `path`. Destroyed
// without commit() (an error, a failed run), it removes the temporary, so an
// existing file is never truncated and a killed run leaves nothing under
// `path`. Pieces are buffered (64 KiB), so many small records cost few
// write() calls. Throws Error naming the file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(std::string_view bytes);
  void commit();
  const std::string& temp_path() const { return tmp_; }

 private:
  void flush();
  std::string path_, tmp_;
  std::string buf_;
  int fd_ = -1;
};

// A log of many small lines (a sweep's partial log: a bit may take less
// time than an fsync): `path` is created (truncated when it exists) and
// each line goes out in one write(), so a killed process leaves whole lines
// and at most a torn last one; it is fsynced at most once a second and when
// closed, so a crash of the machine loses at most the last second. Throws
// Error naming the file.
class LineAppender {
 public:
  explicit LineAppender(std::string path);
  ~LineAppender();  // fsyncs and closes
  LineAppender(const LineAppender&) = delete;
  LineAppender& operator=(const LineAppender&) = delete;
  void append(std::string_view line);

 private:
  std::string path_;
  int fd_ = -1;
  std::chrono::steady_clock::time_point synced_;
};

// Writes `text` to `path` atomically (an AtomicFile written once). Throws Error.
void write_file_atomic(const std::string& path, std::string_view text);
// Appends `line` (must end in '\n') to `path` and fsyncs. Throws Error.
void append_line_durable(const std::string& path, const std::string& line);
// The whole file, or "" when it does not exist. Throws Error on read errors.
std::string read_file_or_empty(const std::string& path);
// Creates `dir` (and parents); throws Error naming it on failure.
void ensure_dir(const std::string& dir);

}  // namespace save
