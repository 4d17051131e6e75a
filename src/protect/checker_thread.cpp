#include "protect/checker_thread.hpp"

#include <immintrin.h>

namespace save::protect {

namespace {
// About 50 microseconds of polling before the worker sleeps.
constexpr int kSpins = 20000;
// About 2 microseconds of waiting before the caller takes the queued tasks.
constexpr int kStealAfter = 500;
}  // namespace

CheckerThread::CheckerThread(bool threaded) : threaded_(threaded) {
  if (threaded_) worker_ = std::thread([this] { loop(); });
}

CheckerThread::~CheckerThread() {
  if (!threaded_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  worker_.join();
}

void CheckerThread::submit(std::function<void()> task, size_t bytes) {
  if (!threaded_ || bytes < kInlineBytes) {
    task();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  submitted_.fetch_add(1, std::memory_order_release);
  if (sleeping_.load(std::memory_order_acquire)) cv_.notify_one();
}

void CheckerThread::wait_all() {
  if (!threaded_) return;
  const uint64_t target = submitted_.load(std::memory_order_acquire);
  for (int i = 0; i < kStealAfter && completed_.load(std::memory_order_acquire) < target; ++i)
    _mm_pause();
  if (completed_.load(std::memory_order_acquire) >= target) return;
  // The worker is behind (or not scheduled: the machine is busy): run what
  // it has not started yet here, so a late worker costs at most the task it
  // is in.
  std::deque<std::function<void()>> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mine.swap(queue_);
  }
  for (auto& task : mine) {
    task();
    completed_.fetch_add(1, std::memory_order_release);
  }
  int spins = 0;
  while (completed_.load(std::memory_order_acquire) < target) {
    if (++spins < kSpins)
      _mm_pause();
    else
      std::this_thread::yield();
  }
}

void CheckerThread::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty()) {
        lock.unlock();
        for (int i = 0; i < kSpins && completed_.load(std::memory_order_relaxed) ==
                                          submitted_.load(std::memory_order_acquire);
             ++i)
          _mm_pause();
        lock.lock();
        if (queue_.empty()) {
          sleeping_.store(true, std::memory_order_release);
          cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
          sleeping_.store(false, std::memory_order_release);
        }
        if (queue_.empty() && stop_) return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
    completed_.fetch_add(1, std::memory_order_release);
  }
}

}  // namespace save::protect
