// `rightsize serve`: the HTTP front of the request pipeline (docs/ARCHITECTURE.md). Stages of a
// generation request: auth and limits (pre-routing) → parse and validate (openai_api) → model
// lookup → chat template and tokenization → the model's continuous-batching Scheduler → response
// or SSE stream; metrics at each stage. One Scheduler and one compute thread pool per model.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/adapters.h"
#include "engine/loader.h"
#include "engine/scheduler.h"
#include "router/decision_log.h"
#include "router/intent_classifier.h"
#include "router/ledger.h"
#include "router/pii_guard.h"
#include "router/policy.h"
#include "server/cache_stage.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "tokenizer/chat_template.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace rs::server {

struct ServedModel {
  ModelConfig cfg;
  LoadedModel lm;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Scheduler> scheduler;       // generative models
  std::unique_ptr<AdapterRegistry> adapters;  // LoRA adapters by name ("MODEL:NAME")
  std::mutex embed_mu;                        // embedding models: one request at a time on the pool
  ChatFormat chat_format = ChatFormat::ChatML;
  int64_t created = 0;
};

// What a request's "model" names: a served model, and the adapter of "MODEL:ADAPTER" (nullptr for
// the base model).
struct ModelTarget {
  ServedModel* model = nullptr;
  std::shared_ptr<const LoraAdapter> adapter;
  std::string name;  // as the client wrote it (echoed in responses and metric labels)
};

class Server {
 public:
  // Loads every model (progress on stderr) and prepares the routes; throws rs::Error.
  explicit Server(ServerConfig cfg);
  ~Server();

  // Binds (port 0: any free port) and serves until stop(); returns false if binding failed.
  bool listen();
  int port() const { return port_; }
  // Graceful: refuses new requests (503), lets running ones finish within the configured grace,
  // cancels the rest, then closes the listener. Safe from any thread (not from a signal handler).
  void stop();

 private:
  void routes();
  ServedModel* find_model(const std::string& name);
  // The model and adapter `name` selects; ApiError 404 naming what is missing.
  ModelTarget resolve_model(const std::string& name);
  void adapter_routes();  // POST /v1/load_lora_adapter, /v1/unload_lora_adapter
  void handle_generation(const httplib::Request& req, httplib::Response& res, int endpoint);
  void handle_embeddings(const httplib::Request& req, httplib::Response& res);
  void count(const std::string& endpoint, const std::string& model, int status);

  // The router (routing.cpp): requests for the router's model name are classified, sent to a
  // local specialist or escalated to the upstream, and accounted in the ledger.
  struct Upstream {
    UpstreamConfig cfg;
    std::unique_ptr<upstream::Client> client;
  };
  void init_router();
  // t0: when the handler started (before the body was parsed), so the router's overhead
  // includes parsing.
  void handle_routed(const httplib::Request& req, httplib::Response& res, int endpoint,
                     GenerationRequest& gr, std::chrono::steady_clock::time_point t0);
  bool routes_request(const std::string& model) const;
  // A cache write that waits for the end of a streamed upstream answer.
  struct PendingCacheWrite {
    std::string key;
    cache::Scope scope;
    std::string intent;
    double confidence = 0;
    std::string reason;
    cache::Embedding embedding;
  };
  void stream_from_upstream(httplib::Response& res, int endpoint, nlohmann::json upstream_body,
                            bool include_usage, router::LedgerEntry e,
                            std::chrono::steady_clock::time_point t0, double model_ms,
                            std::optional<PendingCacheWrite> write);

  // The cache and PII stages (routing_cache.cpp).
  void init_cache();  // the `cache` and `pii` sections, /admin/cache/*
  // Answers from a cached entry (headers, body or SSE, ledger fields); false when the entry is
  // not usable (unreadable, or its route no longer caches), which the caller treats as a miss.
  bool reply_from_cache(const cache::Match& m, Endpoint ep, const GenerationRequest& gr,
                        httplib::Response& res, router::LedgerEntry& e, const char* kind,
                        const std::string& key);
  // The request's vector for semantic look-ups (empty when there is none).
  cache::Embedding cache_embedding(const std::string& text,
                                   const router::IntentClassifier::Scratch& scratch);
  void set_route_headers(httplib::Response& res, const router::LedgerEntry& e,
                         const std::string& cache_key);
  // Ledger, metrics and decision log for one routed request.
  void account(router::LedgerEntry& e, int status, std::chrono::steady_clock::time_point t0,
               double model_ms, const std::string& path);

  ServerConfig cfg_;
  std::vector<std::unique_ptr<ServedModel>> models_;
  std::unique_ptr<httplib::Server> http_;
  Metrics metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};
  int port_ = 0;

  std::unique_ptr<router::RoutePolicy> policy_;
  std::unique_ptr<router::IntentClassifier> classifier_;
  std::vector<Upstream> upstreams_;
  Upstream* escalation_ = nullptr;  // the router's upstream, or null
  router::CostLedger ledger_;
  std::unique_ptr<router::DecisionLog> decision_log_;
  std::unique_ptr<CacheStage> cache_;
  ServedModel* cache_embedder_ = nullptr;  // cache.embedder when it names a model
  std::unique_ptr<router::PiiGuard> pii_;
};

// What a routed response body holds, as the cache keeps it.
CachedAnswer cached_answer(Endpoint ep, const nlohmann::json& body, const router::LedgerEntry& e);
// Appends a streamed chunk's text to `text`; records its finish reason and model.
void collect_stream_chunk(Endpoint ep, const nlohmann::json& chunk, std::string& text,
                          std::string& finish, std::string& model);
// A routed answer that is complete: as JSON, or replayed as SSE when the request streams.
void send_finished(httplib::Response& res, Endpoint ep, const nlohmann::json& body,
                   const GenerationRequest& gr);
// Every string value of `j` (not the keys) with its personal data replaced by placeholders.
void redact_strings(nlohmann::json& j, router::PiiRedactor& redactor);

}  // namespace rs::server
