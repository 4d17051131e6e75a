#include "eval/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace save::eval {

namespace {

// write() until everything is out (it may write less than asked).
void write_all(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    SAVE_CHECK(n > 0, "cannot write '{}': {}", path, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SAVE_CHECK(fd >= 0, "cannot create '{}': {}", tmp, std::strerror(errno));
  try {
    write_all(fd, text, tmp);
    SAVE_CHECK(::fsync(fd) == 0, "cannot sync '{}': {}", tmp, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(err));
  }
}

void append_line_durable(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  SAVE_CHECK(fd >= 0, "cannot open '{}': {}", path, std::strerror(errno));
  try {
    write_all(fd, line, path);
    SAVE_CHECK(::fsync(fd) == 0, "cannot sync '{}': {}", path, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string read_file_or_empty(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return "";
  std::ifstream in(path, std::ios::binary);
  SAVE_CHECK(in.good(), "cannot read '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ensure_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SAVE_CHECK(!ec && std::filesystem::is_directory(dir), "cannot create output folder '{}'", dir);
}

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
