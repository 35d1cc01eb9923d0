#include "engine/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace rs {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double BenchStats::mean() const {
  if (tokens_per_s.empty()) return 0;
  return std::accumulate(tokens_per_s.begin(), tokens_per_s.end(), 0.0) /
         static_cast<double>(tokens_per_s.size());
}

double BenchStats::sd() const {
  if (tokens_per_s.size() < 2) return 0;
  const double m = mean();
  double ss = 0;
  for (double v : tokens_per_s) ss += (v - m) * (v - m);
  return std::sqrt(ss / static_cast<double>(tokens_per_s.size() - 1));
}

BenchResult run_bench(const Model& model, ThreadPool& pool, const BenchOptions& opts,
                      const BenchStepFn& on_step) {
  RS_CHECK(opts.n_prompt >= 0 && opts.n_gen >= 0 && opts.reps >= 1, "bench: bad options");
  RS_CHECK(model.hparams().generative(),
           "bench measures generative models; {} is an embedding model",
           model.hparams().arch->name);
  const int64_t n_vocab = model.hparams().n_vocab;
  std::mt19937_64 rng(opts.seed);
  std::uniform_int_distribution<int32_t> any_id(0, static_cast<int32_t>(n_vocab - 1));

  KVCache cache(model.hparams(), std::max<int64_t>(1, std::max(opts.n_prompt, opts.n_gen)),
                opts.kv_type);
  Vec logits;
  BenchResult result;

  if (opts.n_prompt > 0) {
    const std::string test = "pp" + std::to_string(opts.n_prompt);
    std::vector<int32_t> prompt(static_cast<size_t>(opts.n_prompt));
    for (int rep = 0; rep <= opts.reps; ++rep) {
      if (on_step) on_step(test, rep, opts.reps);
      for (auto& id : prompt) id = any_id(rng);
      cache.clear();
      const auto t0 = std::chrono::steady_clock::now();
      model.forward(prompt, cache, &pool, logits);
      const double s = seconds_since(t0);
      if (rep > 0) result.pp.tokens_per_s.push_back(opts.n_prompt / s);
    }
  }
  if (opts.n_gen > 0 && opts.sequences <= 1) {
    const std::string test = "tg" + std::to_string(opts.n_gen);
    for (int rep = 0; rep <= opts.reps; ++rep) {
      if (on_step) on_step(test, rep, opts.reps);
      const int n = rep == 0 ? 1 : opts.n_gen;  // the warm-up decodes one token
      cache.clear();
      int32_t id = any_id(rng);
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        model.forward({&id, 1}, cache, &pool, logits);
        id = any_id(rng);
      }
      const double s = seconds_since(t0);
      if (rep > 0) result.tg.tokens_per_s.push_back(n / s);
    }
  } else if (opts.n_gen > 0) {
    // Batched decoding as the server's scheduler runs it: every step is one forward pass with
    // one new token for each of the sequences (each its own KV cache); tokens/s counts them all.
    const std::string test =
        "tg" + std::to_string(opts.n_gen) + "x" + std::to_string(opts.sequences);
    std::vector<std::unique_ptr<KVCache>> caches;
    for (int q = 0; q < opts.sequences; ++q)
      caches.push_back(
          std::make_unique<KVCache>(model.hparams(), std::max(1, opts.n_gen), opts.kv_type));
    std::vector<int32_t> ids(static_cast<size_t>(opts.sequences));
    std::vector<SeqBatch> batch(static_cast<size_t>(opts.sequences));
    for (int rep = 0; rep <= opts.reps; ++rep) {
      if (on_step) on_step(test, rep, opts.reps);
      const int n = rep == 0 ? 1 : opts.n_gen;
      for (auto& c : caches) c->clear();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        for (size_t q = 0; q < ids.size(); ++q) {
          ids[q] = any_id(rng);
          batch[q] = {{&ids[q], 1}, caches[q].get(), SeqBatch::Logits::Last, nullptr};
        }
        model.forward_batch(batch, &pool, logits);
      }
      const double s = seconds_since(t0);
      if (rep > 0) result.tg.tokens_per_s.push_back(static_cast<double>(n) * opts.sequences / s);
    }
  }
  return result;
}

uint64_t decode_bytes_per_token(const Model& model) {
  uint64_t total = 0;
  for (const auto& [name, t] : model.source().all()) total += t.nbytes;
  const TensorRef* embd = model.source().find("token_embd.weight");
  if (embd && model.source().find("output.weight") && !embd->ne.empty()) {
    const uint64_t rows = embd->ne.size() > 1 ? static_cast<uint64_t>(embd->ne[1]) : 1;
    total -= embd->nbytes - embd->nbytes / std::max<uint64_t>(rows, 1);
  }
  return total;
}

}  // namespace rs
