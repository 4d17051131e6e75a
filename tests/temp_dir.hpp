// A fresh, empty folder under the system's temp directory for one test,
// named by the process id so parallel ctest runs never share one.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace save::test {

inline std::filesystem::path fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / (std::to_string(getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace save::test
