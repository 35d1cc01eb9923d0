#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RS_CPU_RELAX() _mm_pause()
#else
#define RS_CPU_RELAX() std::this_thread::yield()
#endif

namespace rs {
namespace {

// How long an idle worker spins before sleeping: long enough to bridge the gaps between the
// parallel loops of one forward pass, short enough not to burn a core between requests.
constexpr auto kSpin = std::chrono::microseconds(2000);

// The smallest take, as a fraction of the loop: the tail that one held-up thread can leave.
constexpr int64_t kMinChunkDivisor = 16;

}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads > 0
                     ? n_threads
                     : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  wake_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                              Schedule schedule) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n, 0);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_min_chunk_ = std::max<int64_t>(1, n / kMinChunkDivisor);
  job_schedule_ = schedule;
  next_.store(0, std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check, so none misses it.
    std::lock_guard lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) wake_cv_.notify_all();
  run_chunks(0);
  while (pending_.load(std::memory_order_acquire) != 0) RS_CPU_RELAX();
  job_ = nullptr;
}

void ThreadPool::run_chunks(int index) {
  if (job_schedule_ == Schedule::Static) {
    const int64_t chunk = (job_n_ + n_threads_ - 1) / n_threads_;
    const int64_t b = std::min<int64_t>(job_n_, chunk * index);
    const int64_t e = std::min<int64_t>(job_n_, b + chunk);
    if (b < e) (*job_)(b, e, index);
    return;
  }
  // Guided self-scheduling: each take is a share of what is left (large at first, so threads
  // stream through long contiguous runs of weights; small at the end, so a thread that was held
  // up leaves little for the others to wait on).
  int64_t begin = next_.load(std::memory_order_relaxed);
  for (;;) {
    if (begin >= job_n_) return;
    const int64_t take = std::max<int64_t>(job_min_chunk_, (job_n_ - begin) / (2 * n_threads_));
    const int64_t end = std::min(job_n_, begin + take);
    if (!next_.compare_exchange_weak(begin, end, std::memory_order_relaxed)) continue;
    (*job_)(begin, end, index);
    begin = next_.load(std::memory_order_relaxed);
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for new work, then sleep.
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen &&
           !stop_.load(std::memory_order_relaxed)) {
      RS_CPU_RELAX();
      if (++polls % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
        std::unique_lock lock(mu_);
        sleepers_.fetch_add(1, std::memory_order_acq_rel);
        wake_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
        sleepers_.fetch_sub(1, std::memory_order_acq_rel);
        break;
      }
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace rs
