// The trial-log reader (src/eval/trial_log.*): resume reads trials.jsonl
// back, repairs a torn last line and refuses records of another campaign.
// The bytes go to a file (the log is path-based: it may rewrite the file).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "eval/trial_log.hpp"

namespace {
std::string path() {
  static const std::string p = "/tmp/save_fuzz_trials_" + std::to_string(getpid()) + ".jsonl";
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path().c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    // The seed corpus' context id, so that mutants get past that check.
    save::eval::TrialLog log(path(), "0123456789abcdef");
    for (const auto& r : log.records())
      if (!log.has(r.key())) __builtin_trap();  // every record read is findable
  } catch (const save::Error&) {
  }
  return 0;
}
