// Result files that survive a kill: whole files are written to a temporary
// name in the same folder and renamed into place (readers never see half a
// file), and log lines are appended with one write() and an fsync so a
// finished trial is on disk before the next one starts.
#pragma once

#include <string>

namespace save::eval {

// Writes `text` to `path` atomically (tmp + fsync + rename). Throws Error.
void write_file_atomic(const std::string& path, const std::string& text);
// Appends `line` (must end in '\n') to `path` and fsyncs. Throws Error.
void append_line_durable(const std::string& path, const std::string& line);
// The whole file, or "" when it does not exist. Throws Error on read errors.
std::string read_file_or_empty(const std::string& path);
// Creates `dir` (and parents); throws Error naming it on failure.
void ensure_dir(const std::string& dir);

// One writer per output folder: DIR/.save.lock, held with flock() for the
// object's life (the kernel drops it when the process dies, so a killed run
// never leaves a stale lock) and holding the owner's pid for the message a
// second writer gets. `dir` must exist.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// The kinds of result folder, each marked by the file that claims it
// (campaign.json for `save inject`, eval.json for `save eval`). Throws Error
// when `dir` holds a marker of another kind than `kind`.
enum class FolderKind { kCampaign, kEval };
void refuse_other_kind(const std::string& dir, FolderKind kind);

}  // namespace save::eval
