// world() without MPI (built without libopenmpi-dev): always one process.
// Started by mpirun as one of several ranks, each would run the whole
// campaign into the same folder: refused instead.
#include <cstdio>

#include "core/error.hpp"
#include "dist/launcher.hpp"
#include "dist/world.hpp"

namespace save::dist {

eval::Shard* world() {
  int n = launcher_ranks();
  SAVE_CHECK(n <= 1,
             "started as one of {} ranks, but this save was built without MPI: install "
             "libopenmpi-dev (scripts/install-deps.sh) and rebuild, or run it without mpirun",
             n);
  return nullptr;
}

int exit_with_error(const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", one_line(e.what()).c_str());
  return 1;
}

void finalize() {}

}  // namespace save::dist
