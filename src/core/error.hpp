// Errors: one exception type carrying a message that names the problem.
// Import and planning throw it with node context appended; the CLI prints the
// message on one line and exits non-zero. A detected fault is never an Error.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace save {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

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
