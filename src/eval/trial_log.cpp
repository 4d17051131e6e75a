#include "eval/trial_log.hpp"

#include "core/error.hpp"
#include "core/json_read.hpp"
#include "eval/files.hpp"

namespace save::eval {

TrialLog::TrialLog(std::string path, std::string context_id)
    : path_(std::move(path)), context_id_(std::move(context_id)) {
  std::string text = read_file_or_empty(path_);
  size_t pos = 0, good_end = 0, line_no = 0;
  bool rewrite = false;  // the tail needs repair before we append
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    bool complete = nl != std::string::npos;
    std::string line = text.substr(pos, complete ? nl - pos : std::string::npos);
    size_t next = complete ? nl + 1 : text.size();
    ++line_no;
    if (line.empty() && complete) {  // tolerate blank lines
      pos = next;
      good_end = next;
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      // Only the very last line may be torn (a kill during the append).
      SAVE_CHECK(next >= text.size(), "{} line {} is not a trial record; fix or remove the file",
                 path_, line_no);
      rewrite = true;
      break;
    }
    const std::string id = field_or(j, "context_id", std::string("?"));
    SAVE_CHECK(id == context_id_,
               "{} line {} belongs to another campaign (context {}, this one {}); use another "
               "--out folder",
               path_, line_no, id, context_id_);
    TrialResult t;
    try {
      t = TrialResult::from_json(j);
    } catch (const std::exception& e) {
      fail("{} line {}: {}", path_, line_no, e.what());
    }
    if (index_.emplace(t.key(), records_.size()).second) records_.push_back(std::move(t));
    good_end = next;
    if (!complete) {
      // A whole record without its newline: keep it, restore the newline.
      text.push_back('\n');
      good_end = text.size();
      rewrite = true;
      break;
    }
    pos = next;
  }
  if (rewrite) write_file_atomic(path_, text.substr(0, good_end));
}

void TrialLog::append(const TrialResult& t) {
  nlohmann::json j = t.to_json();
  j["context_id"] = context_id_;
  append_line_durable(path_, j.dump() + "\n");
  // Keep what a resumed run would read back, so both summarise alike.
  if (index_.emplace(t.key(), records_.size()).second)
    records_.push_back(TrialResult::from_json(j));
}

}  // namespace save::eval
