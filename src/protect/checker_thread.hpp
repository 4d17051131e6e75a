// The checker thread: SAVE runs its checks on the host CPU while the
// accelerator goes on with the next layer. Here the compute runs on one
// core (the "device") and this thread, on the other, runs the checks that
// need not sit on the critical path: range checks of fresh outputs, the
// verification of a step's inputs while that step computes, and the
// comparison of device weights with the host copy.
//
// Written by hand (no library offers a low-latency single-worker queue with
// this contract): the worker spins briefly before sleeping, because a step
// can take only microseconds and a futex wake-up per step would cost more
// than the checks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace save::protect {

class CheckerThread {
 public:
  // `threaded` false: every task runs inline in submit() (no second core,
  // or measuring what the thread buys).
  explicit CheckerThread(bool threaded = true);
  ~CheckerThread();
  CheckerThread(const CheckerThread&) = delete;
  CheckerThread& operator=(const CheckerThread&) = delete;

  bool threaded() const { return threaded_; }
  // Queues a task (main thread only); one that reads fewer than
  // kInlineBytes runs inline, as handing it over would cost more.
  void submit(std::function<void()> task, size_t bytes = SIZE_MAX);
  static constexpr size_t kInlineBytes = 32 * 1024;
  // Returns once every task submitted so far has run (main thread only).
  void wait_all();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<uint64_t> submitted_{0}, completed_{0};
  std::atomic<bool> sleeping_{false}, stop_{false};
  bool threaded_;
  std::thread worker_;
};

}  // namespace save::protect
