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

void CheckerThread::submit(std::function<void()> task, size_t bytes, Priority p) {
  if (!threaded_ || bytes < kInlineBytes) {
    task();
    return;
  }
  const bool urgent = p == Priority::kUrgent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (urgent)
      queue_.push_front({std::move(task), true});
    else
      queue_.push_back({std::move(task), false});
  }
  if (urgent) urgent_submitted_.fetch_add(1, std::memory_order_release);
  submitted_.fetch_add(1, std::memory_order_release);
  if (sleeping_.load(std::memory_order_acquire)) cv_.notify_one();
}

void CheckerThread::run(Task& t) {
  t.fn();
  if (t.urgent) urgent_completed_.fetch_add(1, std::memory_order_release);
  completed_.fetch_add(1, std::memory_order_release);
}

void CheckerThread::wait_for(std::atomic<uint64_t>& done, uint64_t target, bool urgent_only) {
  for (int i = 0; i < kStealAfter && done.load(std::memory_order_acquire) < target; ++i)
    _mm_pause();
  if (done.load(std::memory_order_acquire) >= target) return;
  std::deque<Task> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!urgent_only) {
      mine.swap(queue_);
    } else {
      while (!queue_.empty() && queue_.front().urgent) {
        mine.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
  }
  for (Task& t : mine) run(t);
  int spins = 0;
  while (done.load(std::memory_order_acquire) < target) {
    if (++spins < kSpins)
      _mm_pause();
    else
      std::this_thread::yield();
  }
}

void CheckerThread::wait_urgent() {
  if (threaded_) wait_for(urgent_completed_, urgent_submitted_.load(), true);
}

void CheckerThread::wait_all() {
  if (threaded_) wait_for(completed_, submitted_.load(), false);
}

void CheckerThread::loop() {
  for (;;) {
    Task task;
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
    run(task);
  }
}

}  // namespace save::protect
