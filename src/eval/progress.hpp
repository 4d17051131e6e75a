// Progress on stderr, the one bar of the CLI: a redrawn bar with an ETA on a
// terminal, one plain line per finished trial otherwise (logs and CI stay
// readable). Campaigns report trials (start/finish); `save sweep` counts
// bits (tick), too many for a line each.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

namespace save::eval {

class Progress {
 public:
  // `total` trials to run in this process (already recorded ones excluded).
  // `out` null: silent.
  Progress(int64_t total, std::FILE* out, bool tty);
  static bool stderr_is_tty();
  // A trial is starting (tty: redraw with its label, e.g. "flips=256 #3").
  void start(const std::string& label);
  // It finished; `result` is a short text such as "acc 0.8123 sdc 0.012".
  void finish(const std::string& label, const std::string& result, double seconds);
  void done();  // ends the bar's line
  // Counting use: `done` of the total `unit`s (e.g. "bits") have finished;
  // the ETA is from wall time since construction. A terminal is redrawn at
  // most 10 times a second (and at the end); other outputs get nothing.
  void tick(int64_t done, const std::string& unit);
  // Several campaigns sharing one bar (`save eval`): `total` counted every
  // requested trial; a campaign drops those it will not run (already
  // recorded), and labels carry the campaign's name.
  void drop(int64_t n) { total_ -= n; }
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

 private:
  void draw(const std::string& label);
  std::string eta() const;

  int64_t total_, done_ = 0;
  std::FILE* out_;
  bool tty_;
  double spent_s_ = 0;  // seconds of finished trials, for the ETA
  std::string prefix_;  // prepended to labels ("save streaming ")
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_draw_{};
};

// "1m05s", "42s", "2h03m".
std::string format_duration(double seconds);

}  // namespace save::eval
