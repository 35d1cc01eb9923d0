#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

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
                     : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
      ranges_(std::make_unique<Range[]>(static_cast<size_t>(n_threads_))) {
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
  // Static ranges are packed in 32-bit halves; longer loops (none in practice) go guided.
  if (n > static_cast<int64_t>(UINT32_MAX)) schedule = Schedule::Guided;
  job_ = &fn;
  job_n_ = n;
  job_min_chunk_ = std::max<int64_t>(1, n / kMinChunkDivisor);
  job_schedule_ = schedule;
  next_.store(0, std::memory_order_relaxed);
  if (schedule == Schedule::Static) {
    const int64_t chunk = (n + n_threads_ - 1) / n_threads_;
    for (int i = 0; i < n_threads_; ++i) {
      const auto b = static_cast<uint64_t>(std::min(n, chunk * i));
      const auto e = static_cast<uint64_t>(std::min(n, chunk * (i + 1)));
      ranges_[i].span.store(b | e << 32, std::memory_order_relaxed);
    }
  }
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

void ThreadPool::run_static(int index) {
  // The owner's steps halve what is left of its range (a few calls, each continuing the stream
  // of the last); the others' takes are the guided minimum, from the back.
  const uint64_t step = static_cast<uint64_t>(job_min_chunk_);
  auto take = [&](int owner, bool front) {
    std::atomic<uint64_t>& span = ranges_[owner].span;
    uint64_t s = span.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t b = s & 0xFFFFFFFFu, e = s >> 32;
      if (b >= e) return false;
      const uint64_t n = front ? std::max(step, (e - b) / 2) : step;
      const uint64_t mid = front ? std::min(e, b + n) : e - std::min(e - b, n);
      const uint64_t next = front ? (mid | e << 32) : (b | mid << 32);
      if (!span.compare_exchange_weak(s, next, std::memory_order_relaxed)) continue;
      if (front)
        (*job_)(static_cast<int64_t>(b), static_cast<int64_t>(mid), index);
      else
        (*job_)(static_cast<int64_t>(mid), static_cast<int64_t>(e), index);
      return true;
    }
  };
  while (take(index, true)) {
  }
  for (int k = 1; k < n_threads_; ++k)
    while (take((index + k) % n_threads_, false)) {
    }
}

void ThreadPool::run_chunks(int index) {
  if (job_schedule_ == Schedule::Static) return run_static(index);
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
