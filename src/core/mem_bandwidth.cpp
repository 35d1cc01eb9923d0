#include "core/mem_bandwidth.h"

#include <sys/mman.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace rs {
namespace {

// An anonymous mapping rather than new[]: it can be asked for transparent huge pages, which
// removes TLB misses from the measurement (as in a real model's large mmap'd tensors).
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    RS_CHECK(p != MAP_FAILED, "bandwidth probe: cannot allocate {} MiB", bytes >> 20);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint; failure only means 4 KiB pages
#endif
    data_ = static_cast<uint64_t*>(p);
  }
  ~Buffer() {
    munmap(data_, bytes_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint64_t* data() const {
    return data_;
  }

 private:
  size_t bytes_;
  uint64_t* data_ = nullptr;
};

// Sum of words [begin, end) with 8 independent accumulators, so the loop is limited by loads,
// not by one add chain; GCC and clang vectorize it for the baseline ISA (SSE2 on x86-64).
uint64_t sum_words(const uint64_t* p, int64_t begin, int64_t end) {
  uint64_t acc[8] = {};
  int64_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
  for (; i < end; ++i) acc[0] += p[i];
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The same with 256-bit loads: about 8% more bandwidth than SSE2 on Zen 3, and what the
// reference figures in docs/PERF-ANCHORS.md ("read-only AVX2 sum") were measured with. Compiled
// for AVX2 by attribute and only called when the CPU has it, so the binary runs everywhere.
__attribute__((target("avx2"))) uint64_t sum_words_avx2(const uint64_t* p, int64_t begin,
                                                        int64_t end) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = begin;
  for (; i + 16 <= end; i += 16) {
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sum_words(p, i, end);
}

uint64_t sum_best(const uint64_t* p, int64_t begin, int64_t end) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? sum_words_avx2(p, begin, end) : sum_words(p, begin, end);
}
#else
uint64_t sum_best(const uint64_t* p, int64_t begin, int64_t end) {
  return sum_words(p, begin, end);
}
#endif

// Keeps the sums observable so the compiler cannot drop the reads.
volatile uint64_t g_sink = 0;

}  // namespace

BandwidthResult measure_read_bandwidth(ThreadPool& pool, size_t bytes, int passes) {
  RS_CHECK(bytes >= (size_t{1} << 20) && passes >= 1,
           "bandwidth probe: needs at least 1 MiB and 1 pass");
  const auto n_words = static_cast<int64_t>(bytes / sizeof(uint64_t));
  Buffer buf(static_cast<size_t>(n_words) * sizeof(uint64_t));
  uint64_t* data = buf.data();
  pool.parallel_for(n_words, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) data[i] = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  });

  std::atomic<uint64_t> sink{0};
  double best = 1e30;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(n_words, [&](int64_t b, int64_t e, int) {
      sink.fetch_add(sum_best(data, b, e), std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  g_sink = sink.load();
  BandwidthResult r;
  r.bytes = static_cast<size_t>(n_words) * sizeof(uint64_t);
  r.best_seconds = best;
  r.gb_per_s = static_cast<double>(r.bytes) / best / 1e9;
  r.passes = passes;
  r.threads = pool.size();
  return r;
}

}  // namespace rs
