// Peak resident memory of this process, for `save run` and the benchmarks.
#pragma once

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace save {

// Peak resident set size in MiB (2^20 bytes) since the process started:
// Linux's VmHWM from /proc/self/status, else getrusage's ru_maxrss (KiB on
// Linux). Counts everything the process touched: the model, the dataset,
// every plan's arena and the kernels' scratch.
inline double peak_rss_mib() {
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) {
        kib = std::strtol(line + 6, nullptr, 10);
        break;
      }
    std::fclose(f);
    if (kib >= 0) return static_cast<double>(kib) / 1024.0;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace save
