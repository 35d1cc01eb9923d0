// Engine speed measurement, as llama-bench does it: prompt processing (pp) is one forward pass of
// n_prompt tokens into an empty KV cache; generation (tg) is n_gen single-token decode steps
// starting from an empty context. Token ids are random valid ids (speed does not depend on them).
// Each test runs once as a warm-up (pp: the full prompt; tg: one token), then `reps` timed times;
// the result is the mean and sample standard deviation of tokens/s over the repetitions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/kv_cache.h"

namespace rs {

class Model;
class ThreadPool;

struct BenchOptions {
  int n_prompt = 512;  // 0: skip the pp test
  int n_gen = 128;     // 0: skip the tg test
  int sequences = 1;   // tg: sequences decoded together, one token each per forward pass
  KvType kv_type = KvType::F16;
  int reps = 5;
  uint64_t seed = 1234;  // token ids
};

struct BenchStats {
  std::vector<double> tokens_per_s;  // one sample per repetition
  double mean() const;
  double sd() const;  // sample standard deviation (n - 1); 0 for fewer than 2 samples
  bool empty() const { return tokens_per_s.empty(); }
};

struct BenchResult {
  BenchStats pp, tg;
};

// Called before each run: test name ("pp512", "tg128"), repetition (0 = warm-up), reps.
using BenchStepFn = std::function<void(const std::string& test, int rep, int reps)>;

BenchResult run_bench(const Model& model, ThreadPool& pool, const BenchOptions& opts,
                      const BenchStepFn& on_step = {});

// Bytes of weights one decode step reads: every tensor, except that with a separate output matrix
// only one row of the token embedding is read. With a tied output layer this is all tensor bytes.
uint64_t decode_bytes_per_token(const Model& model);

}  // namespace rs
