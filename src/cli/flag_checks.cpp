#include "cli/flag_checks.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "protect/allocation.hpp"

namespace save::cli {

namespace {

// A whole-string integer, or nullopt-like failure via `ok`.
bool parse_int(const std::string& s, long long& v) {
  if (s.empty() || s.find_first_not_of("+-0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}

bool parse_real(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

using Rule = std::function<std::string(const std::string&)>;

// An integer in [lo, hi]; `what` says what the flag means.
Rule integer(long long lo, long long hi, std::string what) {
  return [=](const std::string& s) -> std::string {
    long long v = 0;
    if (!parse_int(s, v) || v < lo || v > hi) return fmt::format("must be {} (got '{}')", what, s);
    return "";
  };
}

Rule real(double lo, bool lo_open, std::string what) {
  return [=](const std::string& s) -> std::string {
    double v = 0;
    if (!parse_real(s, v) || !std::isfinite(v) || v < lo || (lo_open && v == lo))
      return fmt::format("must be {} (got '{}')", what, s);
    return "";
  };
}

const std::map<std::string, Rule>& rules() {
  constexpr long long kMax = std::numeric_limits<long long>::max();
  static const std::map<std::string, Rule> r = {
      {"--threads", integer(0, 4096, "a thread count, 0 (all cores) to 4096")},
      {"--batch", integer(1, 1 << 30, "a positive batch size (1 or more samples)")},
      {"--limit", integer(0, kMax, "a sample count, 0 (all samples) or more")},
      {"--trials", integer(1, kMax, "a positive trial count")},
      {"--sample", integer(0, kMax, "a count of bits, 0 (no sampling) or more")},
      {"--ood-samples", integer(0, 1 << 30, "a count of inputs, 0 (skip the sets) or more")},
      {"--bits-per-word", integer(1, 32, "1 to 32")},
      {"--burst-length", integer(1, 1 << 30, "a positive bit count")},
      {"--element", integer(0, kMax, "an element index, 0 or more")},
      {"--seed",
       [](const std::string& s) -> std::string {
         // Seeds are uint64: strtoull would read "-1" as 2^64-1.
         errno = 0;
         char* end = nullptr;
         bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
         if (digits) std::strtoull(s.c_str(), &end, 10);
         if (!digits || errno != 0)
           return fmt::format("must be a non-negative integer below 2^64 (got '{}')", s);
         return "";
       }},
      {"--tolerance", real(0, true, "a finite tolerance above 0")},
      {"--predict", real(0, false, "a finite tolerance above 0 (or 0: no prediction)")},
      {"--reliable-mem",
       [](const std::string& s) -> std::string {
         try {
           (void)protect::Budget::parse(s);
         } catch (const Error& e) {
           std::string m = e.what();
           // Budget's message already starts with the flag's name.
           const std::string prefix = "--reliable-mem";
           if (m.rfind(prefix, 0) == 0) m = m.substr(m.find_first_not_of(": ", prefix.size()));
           return m;
         }
         return "";
       }},
      {"--max-memory",
       [](const std::string& s) -> std::string {
         try {
           (void)parse_memory_size(s, "--max-memory");
         } catch (const Error& e) {
           std::string m = e.what();
           return m.substr(m.find_first_not_of(": ", std::string("--max-memory").size()));
         }
         return "";
       }},
  };
  return r;
}

void add_checks(CLI::App* c) {
  // Every subcommand bounds what one model may take (constants and plans).
  c->add_option_function<std::string>(
      "--max-memory",
      [](const std::string& s) { set_memory_limit(parse_memory_size(s, "--max-memory")); },
      "Most memory a model's constants and plans may take, BYTES or with KB, MB, GB, KiB, MiB, "
      "GiB (default: the machine's available memory)");
  for (CLI::Option* o : c->get_options()) {
    auto it = rules().begin();
    while (it != rules().end() && !o->check_name(it->first)) ++it;
    if (it == rules().end()) continue;
    // The rule's message replaces CLI11's range text ("Value 0 not in range
    // 2.22507e-308 to 1.79769e+308").
    try {
      o->get_validator("POSITIVE")->active(false);
    } catch (const CLI::OptionNotFound&) {
    }
    const Rule rule = it->second;
    o->check(CLI::Validator([rule](std::string& s) { return rule(s); }, "", ""));
  }
}

}  // namespace

void add_flag_checks(CLI::App& app) {
  for (CLI::App* c : app.get_subcommands([](CLI::App*) { return true; })) add_checks(c);
}

std::vector<std::string> join_negative_values(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 < argc && a.size() > 2 && a.rfind("--", 0) == 0 && a.find('=') == std::string::npos) {
      std::string next = argv[i + 1];
      double v = 0;
      if (next.size() > 1 && next[0] == '-' && parse_real(next, v)) {
        out.push_back(a + "=" + next);
        ++i;
        continue;
      }
    }
    out.push_back(a);
  }
  return out;
}

}  // namespace save::cli
