// Errors: one exception type carrying a message that names the problem.
// Import and planning throw it with node context appended; the CLI prints the
// message on one line and exits non-zero. A detected fault is never an Error.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace save {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An error message as one printable line: control bytes (from names taken
// out of a file, a value called "\n\n" say) escaped as \xNN.
inline std::string one_line(std::string_view what) {
  std::string line;
  for (char ch : what) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f)
      line += fmt::format("\\x{:02x}", c);
    else
      line += ch;
  }
  return line;
}

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Checks a condition that depends on the model or the user's input (not a
// programming error): throws Error with the formatted message when false.
#define SAVE_CHECK(cond, ...)    \
  do {                           \
    if (!(cond)) {               \
      ::save::fail(__VA_ARGS__); \
    }                            \
  } while (0)

}  // namespace save
