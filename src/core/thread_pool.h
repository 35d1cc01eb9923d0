// A persistent pool of worker threads for data-parallel loops. Threads are created once (not per
// token); parallel_for splits [0, n) into contiguous chunks, one per thread, and the calling thread
// works on the first chunk itself.
//
// Decoding one token runs a few hundred short parallel loops, so waking threads through a
// condition variable (tens of microseconds each) would cost more than the work. Workers therefore
// spin on an atomic job counter for a short while after each job and only then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rs {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: one per hardware thread
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) over disjoint ranges covering [0, n); returns when all
  // are done. Not reentrant: fn must not call parallel_for on the same pool, and only one thread
  // may call parallel_for at a time.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};  // bumped once per job
  std::atomic<int> pending_{0};          // workers still busy with the current job
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  std::mutex mu_;
  std::condition_variable wake_cv_;
};

}  // namespace rs
