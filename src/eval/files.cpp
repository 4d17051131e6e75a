#include "eval/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace save::eval {

FolderLock::FolderLock(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / ".save.lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SAVE_CHECK(fd_ >= 0, "cannot create the lock file '{}': {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    SAVE_CHECK(err != EWOULDBLOCK,
               "'{}' is in use by another save process (pid {}, holding {}); wait for it to "
               "finish or use another --out folder",
               dir, pid, path);
    fail("cannot lock '{}': {}", path, std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)w;  // the pid is for messages only; the flock is the lock
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

void refuse_other_kind(const std::string& dir, FolderKind kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool campaign = fs::exists(fs::path(dir) / "campaign.json", ec);
  const bool evaluation = fs::exists(fs::path(dir) / "eval.json", ec);
  SAVE_CHECK(!(kind == FolderKind::kCampaign && evaluation),
             "'{}' holds a `save eval` evaluation (eval.json); `save inject` would overwrite its "
             "report: use another --out folder",
             dir);
  SAVE_CHECK(!(kind == FolderKind::kEval && campaign),
             "'{}' holds a `save inject` campaign (campaign.json); `save eval` would overwrite its "
             "report: use another --out folder",
             dir);
}

}  // namespace save::eval
