// A sweep's partial log: one text line per swept bit, appended as the bit
// finishes, so a sharded `save sweep` (eval/sweep_shard.hpp) can resume
// what a killed run left and merge every rank's records into the order a
// one-process sweep writes. A line carries everything the summary counts
// (not only what the --out CSV shows), with doubles in shortest round-trip
// form, so the merged summary is the one-process summary bit for bit.
//
// The first line names the sweep ("# save sweep <context>"): a log of
// another sweep (other arguments, another model) is refused, not merged.
// Only the last line may be torn (a kill inside the write); it is dropped.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/files.hpp"
#include "inject/sweep_results.hpp"

namespace save {

// One swept bit: its record and the index of its tensor in Sweep::tensors().
struct SweepRecord {
  size_t tensor = 0;
  BitEffect effect;
};

// The line for `r` (ends in '\n'), and its inverse (false: not a record).
std::string sweep_record_line(const SweepRecord& r);
bool parse_sweep_record(const std::string& line, SweepRecord& r);

// Records of one log file by ordinal (BitEffect::ordinal); a repeated
// ordinal keeps the first. Absent file: none. Throws Error for another
// sweep's log or a corrupt line that is not the last.
std::map<uint64_t, SweepRecord> read_sweep_log(const std::string& path, const std::string& context);

// Writes `records` as the whole log at `path`, atomically.
void write_sweep_log(const std::string& path, const std::string& context,
                     const std::map<uint64_t, SweepRecord>& records);

// Appends records to a new log at `path` (replacing any file there).
class SweepLogWriter {
 public:
  SweepLogWriter(const std::string& path, const std::string& context);
  void append(const SweepRecord& r) { out_.append(sweep_record_line(r)); }

 private:
  LineAppender out_;
};

}  // namespace save
