#include "server/cache_stage.h"

#include <fmt/format.h>

#include "cache/cache_key.h"
#include "core/error.h"

namespace rs::server {

std::string encode_answer(const CachedAnswer& a) {
  return json{{"v", 1},
              {"text", a.text},
              {"finish_reason", a.finish_reason},
              {"model", a.model},
              {"route", a.route},
              {"intent", a.intent},
              {"reason", a.reason},
              {"confidence", a.confidence},
              {"prompt_tokens", a.prompt_tokens},
              {"completion_tokens", a.completion_tokens},
              {"baseline_usd", a.baseline_usd},
              {"escalated", a.escalated}}
      .dump();
}

std::optional<CachedAnswer> decode_answer(const std::string& value) {
  const json j = json::parse(value, nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
  try {
    CachedAnswer a;
    a.text = j.at("text").get<std::string>();
    a.finish_reason = j.at("finish_reason").get<std::string>();
    a.model = j.at("model").get<std::string>();
    a.route = j.at("route").get<std::string>();
    a.intent = j.at("intent").get<std::string>();
    a.reason = j.at("reason").get<std::string>();
    a.confidence = j.at("confidence").get<double>();
    a.prompt_tokens = j.at("prompt_tokens").get<int64_t>();
    a.completion_tokens = j.at("completion_tokens").get<int64_t>();
    a.baseline_usd = j.at("baseline_usd").get<double>();
    a.escalated = j.at("escalated").get<bool>();
    return a;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool deterministic(const GenerationRequest& gr) {
  return gr.sampling.temperature <= 0 || gr.sampling.seed != SamplingParams::kRandomSeed;
}

CacheKeys cache_keys(const GenerationRequest& gr, const std::string& router,
                     const std::string& tenant, bool client_escalate) {
  const SamplingParams& s = gr.sampling;
  // Greedy decoding ignores the sampling knobs, so they do not split the key.
  const bool greedy = s.temperature <= 0;
  json params = {greedy ? 0.0f : s.temperature,
                 greedy ? json() : json{s.top_k, s.top_p, s.min_p},
                 greedy || s.seed == SamplingParams::kRandomSeed ? json() : json(s.seed),
                 {s.repeat_penalty, s.repeat_last_n, s.frequency_penalty, s.presence_penalty},
                 gr.max_tokens,
                 gr.stop,
                 gr.logprobs,
                 gr.top_logprobs,
                 client_escalate};
  json text = json::array(), context = json::array();
  if (gr.endpoint == Endpoint::Chat) {
    size_t last_user = gr.messages.size();
    for (size_t i = gr.messages.size(); i-- > 0;)
      if (gr.messages[i].role == "user") {
        last_user = i;
        break;
      }
    for (size_t i = 0; i < gr.messages.size(); ++i) {
      json m = {gr.messages[i].role, cache::normalize_text(gr.messages[i].content)};
      text.push_back(m);
      context.push_back(i == last_user ? json{"user", nullptr} : m);
    }
  } else {
    text.push_back(cache::normalize_text(gr.prompt));
  }
  const char* ep = gr.endpoint == Endpoint::Chat ? "chat" : "completion";
  return {
      cache::sha256_hex(json{"rightsize-cache-v1", ep, router, tenant, text, params}.dump()),
      cache::sha256_hex(json{"rightsize-context-v1", ep, router, tenant, context, params}.dump())};
}

CacheStage::CacheStage(CacheConfig cfg, Metrics& metrics)
    : cfg_(std::move(cfg)), metrics_(metrics), store_(cache::open_store(cfg_.store)) {
  metrics_.counter("rightsize_cache_requests_total",
                   "Routed requests by cache outcome (hit-exact, hit-semantic, miss, bypass) and "
                   "route");
  metrics_.counter("rightsize_cache_errors_total",
                   "Cache back-end failures by operation (each one served as a miss)");
  metrics_.gauge("rightsize_cache_entries", "Entries in the response cache (memory and sqlite)");
  metrics_.gauge("rightsize_cache_bytes", "Bytes the response cache's entries take");
  if (store_->backend() != "redis")  // counting Redis keys is a scan: only on /admin/cache/stats
    metrics_.on_render([this](Metrics& m) {
      try {
        const cache::StoreStats st = store_->stats();
        m.set("rightsize_cache_entries", {}, static_cast<double>(st.entries));
        m.set("rightsize_cache_bytes", {}, static_cast<double>(st.bytes));
      } catch (const std::exception&) {
      }
    });
}

CacheSettings CacheStage::settings(const router::Route* route) const {
  CacheSettings s = cfg_.defaults;
  if (!route) return s;
  const router::RouteCache& o = route->cache;
  if (o.enabled) s.enabled = *o.enabled;
  if (o.semantic) s.semantic = *o.semantic;
  if (o.nondeterministic) s.nondeterministic = *o.nondeterministic;
  if (o.similarity) s.similarity = *o.similarity;
  return s;
}

void CacheStage::failed(const char* op, const std::exception& e) {
  metrics_.inc("rightsize_cache_errors_total", {{"op", op}});
  std::lock_guard lk(log_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_log_ < std::chrono::seconds(60)) return;  // a dead back end logs once a minute
  last_log_ = now;
  fmt::print(stderr, "serve: cache {} failed (served as a miss): {}\n", op, e.what());
}

std::optional<cache::Match> CacheStage::exact(const std::string& key) {
  try {
    if (auto e = store_->get(key, cache::unix_ms())) return cache::Match{std::move(*e), 1.0f};
  } catch (const std::exception& e) {
    failed("get", e);
  }
  return std::nullopt;
}

std::optional<cache::Match> CacheStage::semantic(const cache::Scope& scope,
                                                 const cache::Embedding& q, float threshold) {
  if (q.empty()) return std::nullopt;
  try {
    return store_->nearest(scope, q, threshold, cache::unix_ms());
  } catch (const std::exception& e) {
    failed("nearest", e);
  }
  return std::nullopt;
}

void CacheStage::store(const std::string& key, const cache::Scope& scope, const CachedAnswer& a,
                       cache::Embedding embedding) {
  cache::Entry e;
  e.key = key;
  e.scope = scope;
  e.value = encode_answer(a);
  e.embedding = std::move(embedding);
  if (cfg_.ttl_s > 0) e.expires_ms = cache::unix_ms() + static_cast<int64_t>(cfg_.ttl_s * 1000);
  try {
    store_->put(e);
  } catch (const std::exception& err) {
    failed("put", err);
  }
}

int64_t CacheStage::invalidate(const cache::Selector& s) {
  return store_->invalidate(s);
}

cache::StoreStats CacheStage::stats() {
  return store_->stats();
}

void CacheStage::count(const std::string& result, const std::string& route) {
  metrics_.inc("rightsize_cache_requests_total", {{"result", result}, {"route", route}});
}

}  // namespace rs::server
