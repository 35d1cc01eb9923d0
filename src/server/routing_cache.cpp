// The response cache and the PII guard in the router's stage of the pipeline (docs/cache.md):
// answering from a cached entry, the vector semantic look-ups compare, redaction of what is sent
// upstream, and the admin endpoints that inspect and invalidate the cache.
#include <httplib.h>

#include "core/error.h"
#include "server/http_util.h"
#include "server/server.h"

namespace rs::server {

CachedAnswer cached_answer(Endpoint ep, const json& body, const router::LedgerEntry& e) {
  CachedAnswer a;
  const json& choice = body.at("choices").at(0);
  const json& content =
      ep == Endpoint::Chat ? choice.at("message").at("content") : choice.at("text");
  a.text = content.is_string() ? content.get<std::string>() : "";
  a.finish_reason = choice.value("finish_reason", "stop");
  a.model = body.value("model", "");
  a.route = e.route;
  a.intent = e.intent;
  a.reason = e.reason;
  a.confidence = e.confidence;
  a.prompt_tokens = e.prompt_tokens;
  a.completion_tokens = e.completion_tokens;
  a.baseline_usd = e.baseline_usd;
  a.escalated = e.escalated;
  return a;
}

void collect_stream_chunk(Endpoint ep, const json& chunk, std::string& text, std::string& finish,
                          std::string& model) {
  if (!chunk.is_object()) return;
  if (const auto m = chunk.find("model"); m != chunk.end() && m->is_string()) model = *m;
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
  const json& c = (*choices)[0];
  if (!c.is_object()) return;
  if (ep == Endpoint::Chat) {
    const auto delta = c.find("delta");
    if (delta != c.end() && delta->is_object())
      if (const auto t = delta->find("content"); t != delta->end() && t->is_string())
        text += t->get<std::string>();
  } else if (const auto t = c.find("text"); t != c.end() && t->is_string()) {
    text += t->get<std::string>();
  }
  if (const auto f = c.find("finish_reason"); f != c.end() && f->is_string()) finish = *f;
}

void send_finished(httplib::Response& res, Endpoint ep, const json& body,
                   const GenerationRequest& gr) {
  if (gr.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.status = 200;
    res.set_content(sse_of_body(ep, body, gr.include_usage), "text/event-stream");
  } else {
    send_json(res, 200, body);
  }
}

void redact_strings(json& j, router::PiiRedactor& redactor) {
  if (j.is_string()) {
    j = redactor.redact(j.get<std::string>());
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j) redact_strings(v, redactor);
  }
}

void Server::set_route_headers(httplib::Response& res, const router::LedgerEntry& e,
                               const std::string& cache_key) {
  res.set_header("x-rightsize-route", e.route);
  res.set_header("x-rightsize-intent", e.intent);
  res.set_header("x-rightsize-confidence", fmt::format("{:.4f}", e.confidence));
  res.set_header("x-rightsize-reason", e.reason);
  res.set_header("x-rightsize-cache", e.cache);
  if (e.cache == "hit-semantic")
    res.set_header("x-rightsize-cache-similarity", fmt::format("{:.4f}", e.cache_similarity));
  if (!cache_key.empty()) res.set_header("x-rightsize-cache-key", cache_key);
  if (!e.pii.empty()) res.set_header("x-rightsize-pii", e.pii);
  res.set_header("x-rightsize-cost-usd", fmt::format("{}", e.cost_usd));
  res.set_header("x-rightsize-baseline-usd", fmt::format("{}", e.baseline_usd));
}

bool Server::reply_from_cache(const cache::Match& m, Endpoint ep, const GenerationRequest& gr,
                              httplib::Response& res, router::LedgerEntry& e, const char* kind,
                              const std::string& key) {
  const std::optional<CachedAnswer> a = decode_answer(m.entry.value);
  if (!a) return false;
  // An entry of a route that no longer caches (the config changed since it was written).
  const router::Route* route = nullptr;
  for (const auto& r : policy_->config().routes)
    if (r.name == m.entry.scope.route) route = &r;
  if (!cache_->settings(route).enabled) return false;
  Completion c;
  c.id = new_id(ep == Endpoint::Chat ? "chatcmpl-" : "cmpl-");
  c.model = a->model;
  c.created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  c.text = a->text;
  c.finish_reason = a->finish_reason;
  c.prompt_tokens = a->prompt_tokens;
  c.completion_tokens = a->completion_tokens;
  c.cached_tokens = a->prompt_tokens;
  const json body = completion_body(ep, c);
  e.cache = kind;
  e.cache_similarity = m.similarity;
  e.route = a->route;
  if (e.intent.empty()) {  // an exact hit, answered before classification
    e.intent = a->intent;
    e.confidence = a->confidence;
  }
  e.reason = "cache_hit";
  e.target = "cache";
  e.cost_usd = 0;  // no model ran
  e.baseline_usd = a->baseline_usd;
  e.prompt_tokens = e.completion_tokens = 0;
  set_route_headers(res, e, key);
  send_finished(res, ep, body, gr);
  return true;
}

cache::Embedding Server::cache_embedding(const std::string& text,
                                         const router::IntentClassifier::Scratch& scratch) {
  if (!cache_embedder_) return classifier_->representation(scratch);
  try {
    thread_local std::vector<int32_t> tokens;
    std::lock_guard lk(cache_embedder_->embed_mu);
    const std::vector<float> v = router::embed_text(cache_embedder_->lm, text, tokens);
    return cache::make_dense_embedding(v.data(), v.size());
  } catch (const Error&) {
    return {};  // no tokens: no semantic look-up
  }
}

void Server::init_cache() {
  if (cfg_.pii) {
    pii_ = std::make_unique<router::PiiGuard>(*cfg_.pii);
    metrics_.counter("rightsize_pii_detections_total",
                     "Personal data found in routed requests, by kind and action (the values are "
                     "never logged)");
  }
  if (!cfg_.cache) return;
  fmt::print(stderr, "serve: response cache: {}{}\n", cfg_.cache->store.backend,
             cfg_.cache->store.backend == "sqlite"  ? " at " + cfg_.cache->store.path
             : cfg_.cache->store.backend == "redis" ? " at " + cfg_.cache->store.redis_url
                                                    : "");
  cache_ = std::make_unique<CacheStage>(*cfg_.cache, metrics_);
  if (cfg_.cache->embedder != "router") {
    cache_embedder_ = find_model(cfg_.cache->embedder);
    RS_CHECK(cache_embedder_ && !cache_embedder_->scheduler,
             "cache.embedder '{}' must be an embedding model (bert)", cfg_.cache->embedder);
  } else if (classifier_->parts().backend == router::Backend::kLanguageModel) {
    fmt::print(stderr,
               "serve: the router's language-model back end has no vector for semantic "
               "look-ups; set cache.embedder to a served bert model (exact hits still work)\n");
  }

  http_->Get("/admin/cache/stats", [this](const httplib::Request&, httplib::Response& res) {
    try {
      const cache::StoreStats st = cache_->stats();
      send_json(res, 200,
                {{"backend", cache_->backend()},
                 {"entries", st.entries},
                 {"bytes", st.bytes},
                 {"evictions", st.evictions}});
    } catch (const Error& err) {
      send_error(res, {503, err.what(), "server_error", "", "cache_unavailable"});
    }
  });
  http_->Post(
      "/admin/cache/invalidate", [this](const httplib::Request& req, httplib::Response& res) {
        const json j = json::parse(req.body, nullptr, false);
        if (!j.is_object()) {
          send_error(res, {400, "the body must be a JSON object such as {\"route\": \"billing\"}",
                           "invalid_request_error", "", ""});
          return;
        }
        cache::Selector sel;
        bool all = false;
        for (const auto& [k, v] : j.items()) {
          std::string* field = k == "route"    ? &sel.route
                               : k == "tenant" ? &sel.tenant
                               : k == "key"    ? &sel.key
                                               : nullptr;
          if (k == "all" && v.is_boolean()) {
            all = v.get<bool>();
            continue;
          }
          if (!field || !v.is_string()) {
            send_error(res, {400,
                             fmt::format("unknown or non-string field '{}': use route, tenant, key "
                                         "(strings) or all (true)",
                                         k),
                             "invalid_request_error", k, ""});
            return;
          }
          *field = v.get<std::string>();
        }
        if (sel.empty() && !all) {
          send_error(res, {400, "name what to invalidate: route, tenant, key, or all: true",
                           "invalid_request_error", "", ""});
          return;
        }
        try {
          const int64_t n = cache_->invalidate(sel);
          fmt::print(stderr,
                     "serve: cache invalidated {} entries (route '{}', tenant '{}', key '{}')\n", n,
                     sel.route, sel.tenant, sel.key);
          send_json(res, 200, {{"removed", n}});
        } catch (const Error& err) {
          send_error(res, {503, err.what(), "server_error", "", "cache_unavailable"});
        }
      });
}

}  // namespace rs::server
