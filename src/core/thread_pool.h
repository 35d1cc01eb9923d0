// A persistent pool of worker threads for data-parallel loops. Threads are created once (not per
// token); the threads (the calling one included) take contiguous chunks of [0, n) in turn from
// an atomic counter, large ones first and smaller ones towards the end. On a shared machine a
// thread is often descheduled for a while (the server's own I/O threads, the neighbours of a VM):
// with one fixed chunk per thread everyone would wait for it, with small chunks the others take
// over.
//
// Decoding one token runs a few hundred short parallel loops, so waking threads through a
// condition variable (tens of microseconds each) would cost more than the work. Workers therefore
// spin on an atomic job counter for a short while after each job and only then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
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

  // How [0, n) is split. Guided: threads take shares of what is left from an atomic counter
  // (large first, small at the end), so a thread that is descheduled for a while leaves little
  // for the others to wait on; best for compute-bound loops. Static: one contiguous range per
  // thread, walked from its front in halving steps (one unbroken stream of weights for the
  // prefetchers), and a thread that is done takes small pieces from the back of the others'
  // ranges; for short memory-bound loops (a decode step's matrix-vector products), where the two
  // halves of a fixed split finish several microseconds apart.
  enum class Schedule { Guided, Static };

  // Calls fn(begin, end, thread_index) over disjoint ranges covering [0, n) (a thread may get
  // several ranges); returns when all are done. Not reentrant: fn must not call parallel_for on
  // the same pool, and only one thread may call parallel_for at a time.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                    Schedule schedule = Schedule::Guided);

 private:
  void worker(int index);
  void run_chunks(int index);
  void run_static(int index);

  // Thread i's range under Schedule::Static: front in the low 32 bits, back in the high ones, one
  // cache line each (the owner takes from the front, others from the back, by compare-exchange).
  struct alignas(64) Range {
    std::atomic<uint64_t> span{0};
  };

  int n_threads_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};  // bumped once per job
  std::atomic<int> pending_{0};          // workers still busy with the current job
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_min_chunk_ = 1;
  Schedule job_schedule_ = Schedule::Guided;
  std::atomic<int64_t> next_{0};  // first item not yet taken (Guided)
  std::unique_ptr<Range[]> ranges_;
  std::mutex mu_;
  std::condition_variable wake_cv_;
};

}  // namespace rs
