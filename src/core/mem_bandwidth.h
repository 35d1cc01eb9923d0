// Memory-bandwidth probe: how fast `n_threads` threads can stream-read a buffer much larger than
// the caches. Decode speed of a small model is bounded by this figure ÷ bytes of weights read per
// token, so `rightsize bench` reports the fraction of that roofline it reaches.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rs {

class ThreadPool;

struct BandwidthResult {
  double gb_per_s = 0;      // best pass, 1e9 bytes per second
  double best_seconds = 0;  // time of the best pass
  size_t bytes = 0;         // buffer size read per pass
  int passes = 0;
  int threads = 0;
};

// Fills a `bytes` buffer (first-touch by the thread that reads it later), then runs `passes`
// read-only passes in which each of the pool's threads sums its contiguous slice with several
// independent accumulators (256-bit loads where the CPU has AVX2); reports the best pass.
// About 0.7 s for 1 GiB and 8 passes.
BandwidthResult measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30,
                                       int passes = 8);

}  // namespace rs
