#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace save {

namespace {

// write() until everything is out (it may write less than asked).
void write_all(int fd, std::string_view text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    SAVE_CHECK(n > 0, "cannot write '{}': {}", path, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SAVE_CHECK(fd_ >= 0, "cannot create '{}' (the temporary for '{}'): {}", tmp_, path_,
             std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::write(std::string_view bytes) {
  SAVE_CHECK(fd_ >= 0, "'{}' was already committed", path_);
  constexpr size_t kBuffer = size_t{64} << 10;
  if (buf_.size() + bytes.size() > kBuffer) flush();
  if (bytes.size() > kBuffer)
    write_all(fd_, bytes, tmp_);
  else
    buf_.append(bytes);
}

void AtomicFile::flush() {
  write_all(fd_, buf_, tmp_);
  buf_.clear();
}

void AtomicFile::commit() {
  SAVE_CHECK(fd_ >= 0, "'{}' was already committed", path_);
  flush();
  SAVE_CHECK(::fsync(fd_) == 0, "cannot sync '{}': {}", tmp_, std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    fail("cannot rename '{}' to '{}': {}", tmp_, path_, std::strerror(err));
  }
}

LineAppender::LineAppender(std::string path)
    : path_(std::move(path)), synced_(std::chrono::steady_clock::now()) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  SAVE_CHECK(fd_ >= 0, "cannot create '{}': {}", path_, std::strerror(errno));
}

LineAppender::~LineAppender() {
  ::fsync(fd_);  // a failure here has no one left to tell
  ::close(fd_);
}

void LineAppender::append(std::string_view line) {
  write_all(fd_, line, path_);
  auto now = std::chrono::steady_clock::now();
  if (now - synced_ >= std::chrono::seconds(1)) {
    SAVE_CHECK(::fsync(fd_) == 0, "cannot sync '{}': {}", path_, std::strerror(errno));
    synced_ = now;
  }
}

void write_file_atomic(const std::string& path, std::string_view text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
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

}  // namespace save
