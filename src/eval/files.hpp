// Result folders: one writer per folder (FolderLock) and the marker that
// says which command's results a folder holds. The durable file writes
// themselves live in core/files.hpp.
#pragma once

#include <string>

#include "core/files.hpp"

namespace save::eval {

// The file helpers by their old names here (protect/ and cli/ call them as
// eval::write_file_atomic).
using save::append_line_durable;
using save::ensure_dir;
using save::read_file_or_empty;
using save::write_file_atomic;

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
