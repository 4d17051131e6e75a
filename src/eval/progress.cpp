#include "eval/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace save::eval {

std::string format_duration(double seconds) {
  int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(int64_t total, std::FILE* out, bool tty) : total_(total), out_(out), tty_(tty) {}

bool Progress::stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

std::string Progress::eta() const {
  if (done_ == 0) return "?";
  return format_duration(spent_s_ / static_cast<double>(done_) *
                         static_cast<double>(total_ - done_));
}

void Progress::draw(const std::string& label) {
  constexpr int kWidth = 30;
  int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  // \r + clear-to-end so a shorter label leaves no debris.
  fmt::print(out_, "\r[{}] {}/{} {}{}  ETA {}\x1b[K", bar, done_, total_, prefix_, label, eta());
  std::fflush(out_);
}

void Progress::start(const std::string& label) {
  if (out_ && tty_) draw(label);
}

void Progress::finish(const std::string& label, const std::string& result, double seconds) {
  ++done_;
  spent_s_ += seconds;
  if (!out_) return;
  if (tty_) {
    draw(label);
    return;
  }
  fmt::print(out_, "trial {}/{} {}{}: {} ({:.2f} s, ETA {})\n", done_, total_, prefix_, label,
             result, seconds, eta());
  std::fflush(out_);
}

void Progress::tick(int64_t done, const std::string& unit) {
  if (!out_ || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  done_ = done;
  spent_s_ = std::chrono::duration<double>(now - start_).count();
  draw(unit);
  if (done >= total_) this->done();
}

void Progress::done() {
  if (out_ && tty_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
}

}  // namespace save::eval
