// world() on MPI: initialised only when a launcher started the process, so
// a plain `save inject` never touches MPI.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "dist/launcher.hpp"
#include "dist/world.hpp"

namespace save::dist {

namespace {

// Waits for a non-blocking collective without spinning: a rank that waits
// (for the leader's golden pass, or for the last rank to finish) sleeps, and
// leaves its core to the ranks still computing. Blocking collectives poll
// at 100% CPU, which on a busy or oversubscribed machine slowed the ranks
// that had work.
void wait_idle(MPI_Request& req) {
  int done = 0;
  MPI_Test(&req, &done, MPI_STATUS_IGNORE);
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
  }
}

class MpiShard : public eval::Shard {
 public:
  MpiShard() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string broadcast(const std::string& text) override {
    unsigned long long n = leader() ? text.size() : 0;
    MPI_Request req;
    MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD, &req);
    wait_idle(req);
    std::string out = leader() ? text : std::string(n, '\0');
    // Chunks below INT_MAX: MPI counts are ints.
    for (unsigned long long off = 0; off < n; off += 1u << 30) {
      int len = static_cast<int>(std::min<unsigned long long>(n - off, 1u << 30));
      MPI_Ibcast(out.data() + off, len, MPI_CHAR, 0, MPI_COMM_WORLD, &req);
      wait_idle(req);
    }
    return out;
  }
  int64_t sum(int64_t v) override {
    long long in = v, out = 0;
    MPI_Request req;
    MPI_Iallreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD, &req);
    wait_idle(req);
    return out;
  }

 private:
  int rank_ = 0, size_ = 1;
};

bool initialised = false;
std::unique_ptr<MpiShard> shard;

}  // namespace

eval::Shard* world() {
  static bool checked = false;
  if (!checked) {
    checked = true;
    if (launcher_ranks() > 0) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      initialised = true;
      auto s = std::make_unique<MpiShard>();
      if (s->size() > 1) shard = std::move(s);
    }
  }
  return shard.get();
}

int exit_with_error(const std::exception& e) {
  bool collective = dynamic_cast<const eval::CollectiveError*>(&e) != nullptr;
  if (!shard) {
    std::fprintf(stderr, "error: %s\n", one_line(e.what()).c_str());
    finalize();
    return 1;
  }
  if (collective) {
    if (shard->leader()) std::fprintf(stderr, "error: %s\n", one_line(e.what()).c_str());
    finalize();
    return 1;
  }
  std::fprintf(stderr, "error: rank %d: %s\n", shard->rank(), one_line(e.what()).c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

void finalize() {
  if (!initialised) return;
  shard.reset();
  MPI_Finalize();
  initialised = false;
}

}  // namespace save::dist
