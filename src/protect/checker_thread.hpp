// The checker thread: SAVE runs its checks on the host CPU while the
// accelerator goes on with the next layer. Here the compute runs on one
// core (the "device") and this thread, on the other, runs the checks that
// need not sit on the critical path: `--protect save --async-checks` gives
// it the weight verification, joined before the outputs are released (the
// activation checks stay on the compute thread: they must pass before the
// next flip moment, and waiting for them each step cost more than they
// took). The queue keeps an urgent lane for tasks that must finish sooner.
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
  // Urgent checks must finish before the next flip can land (a step's
  // inputs, verified while it computes); the others only before the outputs
  // are released (weights, range checks of fresh outputs). Urgent tasks
  // jump the queue.
  enum class Priority { kUrgent, kBeforeRelease };
  // Queues a task (main thread only); one that reads fewer than
  // kInlineBytes runs inline, as handing it over would cost more.
  void submit(std::function<void()> task, size_t bytes, Priority p);
  static constexpr size_t kInlineBytes = 32 * 1024;
  // Returns once every urgent task submitted so far has run.
  void wait_urgent();
  // Returns once every task submitted so far has run.
  void wait_all();

 private:
  struct Task {
    std::function<void()> fn;
    bool urgent;
  };
  void loop();
  void run(Task& t);
  // Waits until `done` reaches `target`; after a short spin runs the queued
  // tasks of that kind itself (`urgent_only`), so a worker that is late or
  // not scheduled costs at most the task it is in.
  void wait_for(std::atomic<uint64_t>& done, uint64_t target, bool urgent_only);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // urgent tasks at the front
  std::atomic<uint64_t> submitted_{0}, completed_{0};
  std::atomic<uint64_t> urgent_submitted_{0}, urgent_completed_{0};
  std::atomic<bool> sleeping_{false}, stop_{false};
  bool threaded_;
  std::thread worker_;
};

}  // namespace save::protect
