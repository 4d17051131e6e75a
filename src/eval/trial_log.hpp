// DIR/trials.jsonl: one JSON object per finished trial, appended durably.
// Reading it back is where resume happens: records are keyed by
// TrialResult::key(); a torn last line (the process was killed inside the
// write) is cut off so the next append starts on a clean line.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/trial.hpp"

namespace save::eval {

class TrialLog {
 public:
  // Loads `path` (absent: empty). Every record must carry `context_id`;
  // one from another campaign is an Error, as is a corrupt line that is not
  // the last. Duplicate keys keep the first record.
  TrialLog(std::string path, std::string context_id);
  bool has(const std::string& key) const { return index_.count(key) > 0; }
  // Appends and fsyncs one record, then remembers it.
  void append(const TrialResult& t);
  const std::vector<TrialResult>& records() const { return records_; }

 private:
  std::string path_, context_id_;
  std::vector<TrialResult> records_;
  std::map<std::string, size_t> index_;
};

}  // namespace save::eval
