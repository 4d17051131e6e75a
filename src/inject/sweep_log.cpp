#include "inject/sweep_log.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace save {

namespace {

const std::string kHeader = "# save sweep ";

// Integers and doubles alike; from_chars reads the "inf" fmt writes for a
// NaN/Inf output's max_abs or an unbounded consumer_bound.
template <typename T>
bool parse_number(const std::string& s, T& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string sweep_record_line(const SweepRecord& r) {
  const BitEffect& e = r.effect;
  return fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {}\n", e.ordinal, r.tensor, e.element,
                     e.bit, e.max_abs, e.max_rel, e.top1_changes, e.nonfinite ? 1 : 0,
                     e.consumer_max_abs, e.consumer_bound, e.stopped_early ? 1 : 0,
                     e.predicted_robust ? 1 : 0, e.skipped_steps);
}

bool parse_sweep_record(const std::string& line, SweepRecord& r) {
  std::istringstream in(line);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  if (f.size() != 13) return false;
  BitEffect& e = r.effect;
  int nonfinite = 0, stopped = 0, predicted = 0;
  bool ok = parse_number(f[0], e.ordinal) && parse_number(f[1], r.tensor) &&
            parse_number(f[2], e.element) && parse_number(f[3], e.bit) &&
            parse_number(f[4], e.max_abs) && parse_number(f[5], e.max_rel) &&
            parse_number(f[6], e.top1_changes) && parse_number(f[7], nonfinite) &&
            parse_number(f[8], e.consumer_max_abs) && parse_number(f[9], e.consumer_bound) &&
            parse_number(f[10], stopped) && parse_number(f[11], predicted) &&
            parse_number(f[12], e.skipped_steps);
  if (!ok || e.bit < 0 || e.bit > 31) return false;
  e.nonfinite = nonfinite != 0;
  e.stopped_early = stopped != 0;
  e.predicted_robust = predicted != 0;
  return true;
}

std::map<uint64_t, SweepRecord> read_sweep_log(const std::string& path,
                                               const std::string& context) {
  std::map<uint64_t, SweepRecord> out;
  const std::string text = read_file_or_empty(path);
  if (text.empty()) return out;
  size_t nl = text.find('\n');
  // A header torn by a kill holds no record yet: an empty log.
  if (nl == std::string::npos) return out;
  const std::string header = text.substr(0, nl);
  SAVE_CHECK(header.rfind(kHeader, 0) == 0, "{} is not a save sweep log; remove it", path);
  SAVE_CHECK(header.substr(kHeader.size()) == context,
             "{} is the partial log of another sweep (other arguments or model); remove it or "
             "use another --out",
             path);
  size_t pos = nl + 1, line_no = 1;
  while (pos < text.size()) {
    nl = text.find('\n', pos);
    ++line_no;
    // A line without its newline is torn (its last number may be cut
    // short): dropped, the bit runs again.
    if (nl == std::string::npos) break;
    SweepRecord r;
    bool ok = parse_sweep_record(text.substr(pos, nl - pos), r);
    SAVE_CHECK(ok || nl + 1 >= text.size(), "{} line {} is not a sweep record; remove the file",
               path, line_no);
    if (ok) out.emplace(r.effect.ordinal, r);
    pos = nl + 1;
  }
  return out;
}

void write_sweep_log(const std::string& path, const std::string& context,
                     const std::map<uint64_t, SweepRecord>& records) {
  std::string text = kHeader + context + "\n";
  for (const auto& [ordinal, r] : records) text += sweep_record_line(r);
  write_file_atomic(path, text);
}

SweepLogWriter::SweepLogWriter(const std::string& path, const std::string& context) : out_(path) {
  out_.append(kHeader + context + "\n");
}

}  // namespace save
