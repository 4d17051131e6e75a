// Ranks as threads for tests of sharded work (eval/shard.hpp) without MPI:
// a Group of N threads meets at every collective, each through its own
// ThreadShard, so the sharding logic also runs under ASan/UBSan.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "eval/shard.hpp"

namespace save::eval {

// N threads as ranks: every collective is a rendezvous of all N.
class Group {
 public:
  explicit Group(int n) : n_(n) {}
  // Each rank contributes (text, v); all get the leader's text and the sum.
  std::pair<std::string, int64_t> meet(int rank, const std::string& text, int64_t v) {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t gen = gen_;
    if (rank == 0) text_ = text;
    sum_ += v;
    if (++arrived_ == n_) {
      result_ = {text_, sum_};
      arrived_ = 0, sum_ = 0, ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
    return result_;
  }
  int size() const { return n_; }

 private:
  int n_, arrived_ = 0;
  uint64_t gen_ = 0;
  int64_t sum_ = 0;
  std::string text_;
  std::pair<std::string, int64_t> result_;
  std::mutex mu_;
  std::condition_variable cv_;
};

class ThreadShard : public Shard {
 public:
  ThreadShard(Group& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return g_.size(); }
  std::string broadcast(const std::string& text) override { return g_.meet(rank_, text, 0).first; }
  int64_t sum(int64_t v) override { return g_.meet(rank_, "", v).second; }

 private:
  Group& g_;
  int rank_;
};

}  // namespace save::eval
