// The response-cache stage of the request pipeline (docs/ARCHITECTURE.md, docs/cache.md): keys
// built from a routed request, look-ups and writes that never fail a request (a broken back end
// is a miss, counted in /metrics and reported on stderr), and the cached answer's format.
//
//   exact key  = SHA-256 of [endpoint, router, tenant, normalised messages (or prompt), sampling
//                parameters, max_tokens, stop, logprobs, escalation header]
//   context    = the same without the last user message: a semantic hit must share it, so a
//                paraphrase only matches within the same conversation and parameters
//   scope      = (route, tenant, context): entries never cross tenants
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cache/open_store.h"
#include "router/policy.h"
#include "server/metrics.h"
#include "server/openai_api.h"

namespace rs::server {

// Effective cache behaviour of one route.
struct CacheSettings {
  bool enabled = true;
  bool semantic = true;           // also look up paraphrases
  bool nondeterministic = false;  // cache sampled answers (temperature > 0 without a seed) too
  float similarity = 0.9f;        // a semantic hit needs at least this cosine similarity
};

// The `cache` section of rightsize.yaml.
struct CacheConfig {
  cache::StoreConfig store;
  double ttl_s = 3600;  // 0: entries never expire
  CacheSettings defaults;
  std::string embedder = "router";  // "router": the classifier's representation; else a served
                                    // embedding model's name
};

// A cached answer: what a response needs, without ids or timestamps (new ones per hit).
struct CachedAnswer {
  std::string text, finish_reason, model, route, intent, reason;
  double confidence = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double baseline_usd = 0;  // what the LLM would have charged for it
  bool escalated = false;
};
std::string encode_answer(const CachedAnswer& a);
std::optional<CachedAnswer> decode_answer(const std::string& value);  // nullopt: not one

struct CacheKeys {
  std::string exact;    // 64 hex digits
  std::string context;  // 64 hex digits
};
CacheKeys cache_keys(const GenerationRequest& gr, const std::string& router,
                     const std::string& tenant, bool client_escalate);

// Deterministic: greedy, or sampled with a fixed seed.
bool deterministic(const GenerationRequest& gr);

class CacheStage {
 public:
  // Opens the back end (rs::Error when it cannot) and declares the cache's metrics.
  CacheStage(CacheConfig cfg, Metrics& metrics);
  const CacheConfig& config() const { return cfg_; }
  CacheSettings settings(const router::Route* route) const;

  std::optional<cache::Match> exact(const std::string& key);
  std::optional<cache::Match> semantic(const cache::Scope& scope, const cache::Embedding& q,
                                       float threshold);
  void store(const std::string& key, const cache::Scope& scope, const CachedAnswer& a,
             cache::Embedding embedding);
  int64_t invalidate(const cache::Selector& s);  // rs::Error when the back end fails
  cache::StoreStats stats();                     // rs::Error when the back end fails
  std::string_view backend() const { return store_->backend(); }

  // One lookup's outcome, for /metrics ("hit-exact", "hit-semantic", "miss", "bypass").
  void count(const std::string& result, const std::string& route);

 private:
  void failed(const char* op, const std::exception& e);

  CacheConfig cfg_;
  Metrics& metrics_;
  std::unique_ptr<cache::Store> store_;
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point last_log_{};
};

}  // namespace rs::server
