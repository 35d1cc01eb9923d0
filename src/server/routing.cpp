// The router's stage of the request pipeline (docs/ARCHITECTURE.md): requests whose "model" is
// the router's name are classified, sent to a local specialist (base model + adapter + prompt
// template + output constraint) or escalated to the upstream LLM, and accounted in the ledger,
// /metrics, the x-rightsize-* headers and the decision log.
//
//   classify -> policy.decide -> local specialist -> validate --(fails)--> upstream
//                             \-> upstream --(fails)--> local specialist (when there is one)
#include <httplib.h>

#include <chrono>
#include <condition_variable>

#include "core/error.h"
#include "server/http_util.h"
#include "server/server.h"

namespace rs::server {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

const std::vector<double> kOverheadBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                              0.0025,  0.005,  0.01,    0.025,  0.1};

// The text the classifier reads: the last user message, or the completion prompt.
std::string request_text(const GenerationRequest& gr) {
  if (gr.endpoint == Endpoint::Completion) {
    if (!gr.prompt_ids.empty())
      throw ApiError{400, "routed requests need a text prompt, not token ids",
                     "invalid_request_error", "prompt", ""};
    return gr.prompt;
  }
  for (auto it = gr.messages.rbegin(); it != gr.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  throw ApiError{400, "routed chat requests need a user message", "invalid_request_error",
                 "messages", ""};
}

// A local generation, waited for on this thread.
struct LocalAnswer {
  bool ran = false;
  std::string text;
  GenOutcome out;
  double wait_ms = 0;  // submit to done: model time (and queueing), not router overhead
  bool ok() const { return ran && (out.finish_reason == "stop" || out.finish_reason == "length"); }
};

LocalAnswer run_local(Scheduler& sched, const std::shared_ptr<const LoraAdapter>& lora,
                      std::vector<int32_t> prompt, const GenerationRequest& gr, int64_t max_tokens,
                      Clock::time_point deadline) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    std::string text;
    std::optional<GenOutcome> done;
  };
  auto w = std::make_shared<Wait>();
  auto job = std::make_shared<GenJob>();
  job->prompt = std::move(prompt);
  job->lora = lora;
  job->sampling = gr.sampling;
  job->max_tokens = max_tokens;
  job->stop = gr.stop;
  job->deadline = deadline;
  job->on_token = [w](const TokenEvent& ev) {
    std::lock_guard lk(w->mu);
    w->text += ev.text;
    return true;
  };
  job->on_done = [w](const GenOutcome& o) {
    std::lock_guard lk(w->mu);
    w->done = o;
    w->cv.notify_all();
  };
  LocalAnswer a;
  const auto t = Clock::now();
  if (!sched.submit(job)) return a;  // queue full or shutting down: not run
  std::unique_lock lk(w->mu);
  w->cv.wait(lk, [&] { return w->done.has_value(); });
  a.ran = true;
  a.text = std::move(w->text);
  a.out = *w->done;
  a.wait_ms = ms_since(t);
  return a;
}

}  // namespace

bool Server::routes_request(const std::string& model) const {
  return policy_ && (model == policy_->config().name || model.empty());
}

void Server::init_router() {
  for (const UpstreamConfig& uc : cfg_.upstreams)
    upstreams_.push_back({uc, std::make_unique<upstream::Client>(uc.endpoints, uc.client)});
  metrics_.counter("rightsize_upstream_requests_total",
                   "Requests the router sent to an upstream LLM, by upstream and outcome");
  if (!cfg_.router) return;
  const router::RouterConfig& rc = *cfg_.router;
  fmt::print(stderr, "serve: loading router {} from {}\n", rc.name, rc.classifier);
  classifier_ =
      std::make_unique<router::IntentClassifier>(router::IntentClassifier::load(rc.classifier));
  policy_ = std::make_unique<router::RoutePolicy>(rc);
  for (auto& u : upstreams_)
    if (u.cfg.name == rc.upstream) escalation_ = &u;
  for (const router::Route& r : rc.routes) {
    try {
      const ModelTarget t = resolve_model(r.model);  // the adapter must be loaded at start
      RS_CHECK(t.model->scheduler, "router: route {} names {}, an embedding model", r.name,
               r.model);
    } catch (const ApiError& err) {
      fail("router: route {}: {}", r.name, err.message);
    }
  }
  if (!rc.decision_log.empty())
    decision_log_ = std::make_unique<router::DecisionLog>(rc.decision_log);
  metrics_.counter("rightsize_router_requests_total",
                   "Routed requests by route, reason, tenant and whether they were escalated");
  metrics_.counter("rightsize_cost_usd_total", "What routed requests cost, by route and tenant");
  metrics_.counter("rightsize_baseline_cost_usd_total",
                   "What the same requests would have cost sent to the upstream LLM");
  metrics_.histogram("rightsize_router_classify_seconds", "Intent classification time",
                     kOverheadBuckets);
  metrics_.histogram("rightsize_router_overhead_seconds",
                     "Time of a routed request outside model and upstream calls", kOverheadBuckets);
  http_->Get("/v1/ledger", [this](const httplib::Request&, httplib::Response& res) {
    auto to_json = [](const router::LedgerTotals& t) {
      return json{{"requests", t.requests},           {"local", t.local},
                  {"escalated", t.escalated},         {"cached", t.cached},
                  {"prompt_tokens", t.prompt_tokens}, {"completion_tokens", t.completion_tokens},
                  {"cost_usd", t.cost_usd},           {"baseline_usd", t.baseline_usd},
                  {"savings_usd", t.savings_usd()}};
    };
    json routes = json::object(), tenants = json::object();
    for (const auto& [k, v] : ledger_.by_route()) routes[k] = to_json(v);
    for (const auto& [k, v] : ledger_.by_tenant()) tenants[k] = to_json(v);
    send_json(res, 200,
              {{"total", to_json(ledger_.total())}, {"routes", routes}, {"tenants", tenants}});
  });
}

void Server::handle_routed(const httplib::Request& req, httplib::Response& res, int endpoint_id,
                           GenerationRequest& gr, Clock::time_point t0) {
  const auto ep = static_cast<Endpoint>(endpoint_id);
  const std::string path = ep == Endpoint::Chat ? "/v1/chat/completions" : "/v1/completions";
  const router::RouterConfig& rc = policy_->config();
  router::LedgerEntry e;
  e.tenant = req.get_header_value(rc.tenant_header);
  if (e.tenant.empty()) e.tenant = "default";
  e.cache = cache_ ? "miss" : "off";
  double model_ms = 0;
  try {
    const std::string text = request_text(gr);
    const bool client_escalate = req.get_header_value("x-rightsize-escalate") == "1" ||
                                 req.get_header_value("x-rightsize-escalate") == "true";
    // Exact cache first: a deterministic repeat needs nothing else, not even the classifier.
    CacheKeys keys;
    bool cache_bypass = true;
    if (cache_) {
      const std::string cc = req.get_header_value("Cache-Control");
      cache_bypass = cc.find("no-cache") != std::string::npos ||
                     cc.find("no-store") != std::string::npos ||
                     req.get_header_value("x-rightsize-cache") == "bypass";
      if (cache_bypass) {
        e.cache = "bypass";
      } else if (keys = cache_keys(gr, rc.name, e.tenant, client_escalate); deterministic(gr)) {
        if (auto hit = cache_->exact(keys.exact);
            hit && reply_from_cache(*hit, ep, gr, res, e, "hit-exact", keys.exact)) {
          account(e, res.status, t0, 0, path);
          return;
        }
      }
    }

    thread_local router::IntentClassifier::Scratch scratch;
    const auto tc = Clock::now();
    const router::Intent intent = classifier_->classify(text, scratch);
    e.classify_ms = ms_since(tc);
    e.intent = std::string(intent.label);
    e.confidence = intent.confidence;
    const router::Route* route = intent.out_of_scope ? nullptr : policy_->route_for(intent.label);

    // Personal data: redacted in whatever leaves the machine, or the request stays local.
    std::optional<router::PiiRedactor> redactor;
    router::PiiAction pii_action = router::PiiAction::kOff;
    if (pii_) {
      pii_action =
          route && route->pii != router::PiiAction::kDefault ? route->pii : cfg_.pii_action;
      if (pii_action != router::PiiAction::kOff) {
        redactor.emplace(*pii_);
        if (ep == Endpoint::Chat)
          for (const ChatMessage& m : gr.messages) redactor->redact(m.content);
        else
          redactor->redact(gr.prompt);
        if (redactor->changed()) {
          e.pii =
              fmt::format("{} {}", pii_action == router::PiiAction::kPin ? "pinned" : "redacted",
                          redactor->summary());
          for (const auto& [kind, n] : redactor->counts())
            metrics_.inc("rightsize_pii_detections_total",
                         {{"kind", kind}, {"action", router::pii_action_name(pii_action)}}, n);
        } else {
          redactor.reset();
        }
      }
    }
    const bool pinned = redactor && pii_action == router::PiiAction::kPin;
    Upstream* const escalation = pinned ? nullptr : escalation_;  // pinned: as if there were none

    // The local candidate and its prompt.
    router::RequestFacts facts{intent.label, intent.confidence, intent.out_of_scope, 0,
                               client_escalate};
    ModelTarget local;
    std::vector<int32_t> prompt;
    int64_t baseline_prompt = 0;
    if (route) {
      local = resolve_model(route->model);
      const Tokenizer& tok = local.model->lm.require_tokenizer();
      auto chat_tokens = [&](const std::vector<ChatMessage>& msgs) {
        return tok.encode(apply_chat_template(local.model->chat_format, msgs, true), true, true);
      };
      // The baseline counts the request as the client sent it (what the LLM would have read).
      bool prompt_is_request = false;
      if (!route->prompt_template.empty()) {
        prompt = tok.encode(router::fill_template(route->prompt_template, text), true, false);
      } else if (ep == Endpoint::Completion) {
        prompt = tok.encode(gr.prompt, true, false);
        prompt_is_request = true;
      } else if (!route->system_prompt.empty() &&
                 (gr.messages.empty() || gr.messages[0].role != "system")) {
        std::vector<ChatMessage> msgs = gr.messages;
        msgs.insert(msgs.begin(), {"system", route->system_prompt});
        prompt = chat_tokens(msgs);
      } else {
        prompt = chat_tokens(gr.messages);
        prompt_is_request = true;
      }
      baseline_prompt =
          static_cast<int64_t>(prompt_is_request      ? prompt.size()
                               : ep == Endpoint::Chat ? chat_tokens(gr.messages).size()
                                                      : tok.encode(gr.prompt, true, false).size());
      facts.prompt_tokens = static_cast<int64_t>(prompt.size());
    } else if (pinned) {
      throw ApiError{422,
                     fmt::format("the request contains personal data ({}) and may not leave this "
                                 "machine, but no local route serves intent '{}'",
                                 redactor->summary(), e.intent),
                     "invalid_request_error", "", "pii_pinned"};
    }
    router::Decision d = policy_->decide(facts);
    if (d.action == router::Action::kUpstream && !escalation) {
      if (pinned && escalation_) d.reason = router::Reason::kPiiPinned;
      d.action = router::Action::kLocal;
    }
    // Both updated below if the cascade changes them.
    e.reason = router::reason_name(d.reason);
    e.route = d.action == router::Action::kUpstream ? escalation->cfg.name
              : route                               ? route->name
                                                    : "";

    // Then the cache of this route: exact for sampled requests it opts in to, then paraphrases
    // (never for requests with personal data: a paraphrase may differ in exactly that data).
    const CacheSettings cs = cache_ ? cache_->settings(route) : CacheSettings{};
    const bool use_cache =
        cache_ && !cache_bypass && cs.enabled && (deterministic(gr) || cs.nondeterministic);
    const cache::Scope scope{e.route.empty() ? "none" : e.route, e.tenant, keys.context};
    cache::Embedding embedding;
    if (cache_ && !cache_bypass && !use_cache) e.cache = "bypass";
    if (use_cache) {
      if (!deterministic(gr))
        if (auto hit = cache_->exact(keys.exact);
            hit && reply_from_cache(*hit, ep, gr, res, e, "hit-exact", keys.exact)) {
          account(e, res.status, t0, 0, path);
          return;
        }
      if (cs.semantic && !redactor) {
        embedding = cache_embedding(text, scratch);
        if (auto hit = cache_->semantic(scope, embedding, cs.similarity);
            hit && reply_from_cache(*hit, ep, gr, res, e, "hit-semantic", hit->entry.key)) {
          account(e, res.status, t0, 0, path);
          return;
        }
      }
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(
                                             static_cast<int64_t>(cfg_.request_timeout_s * 1000));

    LocalAnswer la;
    json body;
    std::string detail;
    auto answer_locally = [&]() -> bool {
      if (!route) {
        detail = fmt::format("no route serves intent '{}'", e.intent);
        return false;
      }
      if (!la.ran) {
        const int64_t n_ctx = local.model->scheduler->options().n_ctx;
        const int64_t room = n_ctx - static_cast<int64_t>(prompt.size());
        if (room < 1) {
          detail = fmt::format("prompt of {} tokens does not fit the context", prompt.size());
          return false;
        }
        int64_t max_tokens = route->max_tokens > 0 ? route->max_tokens : gr.max_tokens;
        if (max_tokens <= 0 || max_tokens > room) max_tokens = room;
        la = run_local(*local.model->scheduler, local.adapter, prompt, gr, max_tokens, deadline);
        model_ms += la.wait_ms;
        e.cost_usd += router::local_cost_usd(local.model->cfg.price_per_hour, la.out.compute_ms);
      }
      return la.ok();
    };

    if (d.action == router::Action::kLocal) {
      if (!answer_locally()) {
        d.action = router::Action::kUpstream;
        d.reason = router::Reason::kLocalFailed;
        if (detail.empty())
          detail = la.ran ? "local generation ended: " + la.out.finish_reason : "local queue full";
      } else if (std::string why; !router::validate_answer(*route, la.text, &why)) {
        detail = why;
        if (rc.escalate.on_invalid_answer && escalation) {
          d.action = router::Action::kUpstream;
          d.reason = router::Reason::kInvalidAnswer;
        }
      }
      if (d.action == router::Action::kUpstream && !escalation)
        throw ApiError{503, "the local model could not answer: " + detail, "server_error", "",
                       "local_failed"};
    }

    bool escalated = false;
    if (d.action == router::Action::kUpstream) {
      const double budget = policy_->upstream_budget(e.tenant);
      if (budget > 0 && ledger_.upstream_spend(e.tenant) >= budget) {
        if (!answer_locally())
          throw ApiError{
              429, fmt::format("tenant '{}' has used its upstream budget of ${}", e.tenant, budget),
              "rate_limit_error", "", "budget_exceeded"};
        d.reason = router::Reason::kBudgetExhausted;
      } else if (gr.stream && !la.ran && !redactor) {
        std::optional<PendingCacheWrite> write;
        if (use_cache)
          write = PendingCacheWrite{keys.exact,   scope,    e.intent,
                                    e.confidence, e.reason, std::move(embedding)};
        res.set_header("x-rightsize-route", escalation->cfg.name);
        res.set_header("x-rightsize-intent", e.intent);
        res.set_header("x-rightsize-confidence", fmt::format("{:.4f}", e.confidence));
        res.set_header("x-rightsize-reason", e.reason);
        res.set_header("x-rightsize-cache", e.cache);
        if (!e.pii.empty()) res.set_header("x-rightsize-pii", e.pii);
        stream_from_upstream(res, endpoint_id, json::parse(req.body), gr.include_usage, e, t0,
                             model_ms, std::move(write));
        return;
      } else {
        json up = json::parse(req.body);
        up["stream"] = false;
        up.erase("stream_options");
        if (!escalation->cfg.endpoints.empty() && escalation->cfg.endpoints[0].model.empty())
          up.erase("model");
        if (redactor) redact_strings(up, *redactor);
        const auto tu = Clock::now();
        try {
          upstream::Response r = escalation->client->post(
              ep == Endpoint::Chat ? "chat/completions" : "completions", up);
          model_ms += ms_since(tu);
          body = std::move(r.json);
          if (redactor) {  // the values go back in only here, on this machine
            json& choice = body.at("choices").at(0);
            json& content =
                ep == Endpoint::Chat ? choice.at("message").at("content") : choice.at("text");
            if (content.is_string()) content = redactor->restore(content.get<std::string>());
          }
          const int64_t in = body["usage"].value("prompt_tokens", int64_t{0}),
                        out = body["usage"].value("completion_tokens", int64_t{0});
          const double cost = router::hosted_cost_usd(escalation->cfg.prices, in, out);
          e.cost_usd += cost;
          e.baseline_usd = cost;  // the same request, sent to the LLM
          e.prompt_tokens = in;
          e.completion_tokens = out;
          e.target = escalation->cfg.name;
          escalated = true;
          metrics_.inc("rightsize_upstream_requests_total",
                       {{"upstream", escalation->cfg.name}, {"outcome", "ok"}});
        } catch (const Error& err) {
          model_ms += ms_since(tu);
          metrics_.inc("rightsize_upstream_requests_total",
                       {{"upstream", escalation->cfg.name}, {"outcome", "failed"}});
          detail = err.what();
          if (!answer_locally())
            throw ApiError{502, fmt::format("the upstream LLM failed: {}", err.what()),
                           "server_error", "", "upstream_error"};
          d.reason = router::Reason::kUpstreamFailed;
        }
      }
    }
    if (!escalated) {
      Completion c;
      c.id = new_id(ep == Endpoint::Chat ? "chatcmpl-" : "cmpl-");
      c.model = local.name;
      c.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      c.text = la.text;
      c.finish_reason = la.out.finish_reason;
      c.prompt_tokens = la.out.prompt_tokens;
      c.completion_tokens = la.out.completion_tokens;
      c.cached_tokens = la.out.cached_tokens;
      body = completion_body(ep, c);
      e.target = local.name;
      e.prompt_tokens = la.out.prompt_tokens;
      e.completion_tokens = la.out.completion_tokens;
      if (escalation_)
        e.baseline_usd = router::hosted_cost_usd(escalation_->cfg.prices, baseline_prompt,
                                                 la.out.completion_tokens);
    }
    e.route = escalated ? escalation->cfg.name : route->name;
    e.reason = router::reason_name(d.reason);
    e.escalated = escalated;
    e.detail = detail;
    // Only answers that went as planned are kept: not a local answer that failed validation
    // or stood in for a failed upstream.
    if (use_cache && (escalated || detail.empty()))
      cache_->store(keys.exact, scope, cached_answer(ep, body, e), std::move(embedding));

    set_route_headers(res, e, use_cache ? keys.exact : "");
    send_finished(res, ep, body, gr);
  } catch (const ApiError& err) {
    send_error(res, err);
    e.detail = err.message;
    if (e.reason.empty()) e.reason = err.code.empty() ? "bad_request" : err.code;
  } catch (const json::exception& err) {
    send_error(res, {502, fmt::format("the upstream's answer is not usable: {}", err.what()),
                     "server_error", "", "upstream_error"});
    e.detail = res.body;
  } catch (const Error& err) {
    send_error(res, {400, err.what(), "invalid_request_error", "", ""});
    e.detail = err.what();
  }
  account(e, res.status, t0, model_ms, path);
}

void Server::account(router::LedgerEntry& e, int status, Clock::time_point t0, double model_ms,
                     const std::string& path) {
  e.status = status;
  e.latency_ms = ms_since(t0);
  e.overhead_ms = std::max(0.0, e.latency_ms - model_ms);
  if (e.route.empty()) e.route = "none";
  if (status == 200) {
    ledger_.record(e);
    const Labels rt = {{"route", e.route}, {"tenant", e.tenant}};
    metrics_.inc("rightsize_cost_usd_total", rt, e.cost_usd);
    metrics_.inc("rightsize_baseline_cost_usd_total", rt, e.baseline_usd);
  }
  metrics_.inc("rightsize_router_requests_total",
               {{"route", e.route},
                {"reason", e.reason.empty() ? "error" : e.reason},
                {"tenant", e.tenant},
                {"escalated", e.escalated ? "true" : "false"}});
  metrics_.observe("rightsize_router_classify_seconds", {}, e.classify_ms / 1000);
  metrics_.observe("rightsize_router_overhead_seconds", {}, e.overhead_ms / 1000);
  if (cache_ && e.cache != "off") cache_->count(e.cache, e.route);
  if (decision_log_) decision_log_->append(e);
  count(path, policy_->config().name, status);
}

// A request escalated before any local attempt, asked as a stream: the upstream's chunks are
// passed through as they arrive. The ledger learns the cost from the usage of the final chunk
// (requested from the upstream whatever the client asked), so x-rightsize-cost-usd is absent.
// With `write`, the streamed text is cached once the stream completed.
void Server::stream_from_upstream(httplib::Response& res, int endpoint_id, json up, bool usage,
                                  router::LedgerEntry e, Clock::time_point t0, double model_ms,
                                  std::optional<PendingCacheWrite> write) {
  const auto ep = static_cast<Endpoint>(endpoint_id);
  const std::string path = ep == Endpoint::Chat ? "/v1/chat/completions" : "/v1/completions";
  up["stream"] = true;
  up["stream_options"] = {{"include_usage", true}};
  if (escalation_->cfg.endpoints[0].model.empty()) up.erase("model");
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [this, ep, path, up, usage, e, t0, model_ms, write = std::move(write)](
                               size_t, httplib::DataSink& sink) mutable {
        int64_t in = 0, out = 0;
        bool gone = false;
        std::string text, finish, model;
        upstream::ChunkHandler on_chunk = [&](const json& chunk) {
          if (write) collect_stream_chunk(ep, chunk, text, finish, model);
          if (const auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) {
            in = u->value("prompt_tokens", int64_t{0});
            out = u->value("completion_tokens", int64_t{0});
            const auto c = chunk.find("choices");
            if (!usage && (c == chunk.end() || c->empty())) return true;  // not asked for
          }
          const std::string s = "data: " + chunk.dump() + "\n\n";
          gone = !sink.write(s.data(), s.size());
          return !gone;
        };
        const auto tu = Clock::now();
        int status = 200;
        try {
          escalation_->client->post(ep == Endpoint::Chat ? "chat/completions" : "completions", up,
                                    &on_chunk);
          metrics_.inc("rightsize_upstream_requests_total",
                       {{"upstream", escalation_->cfg.name}, {"outcome", "ok"}});
        } catch (const Error& err) {
          status = 502;
          e.detail = err.what();
          metrics_.inc("rightsize_upstream_requests_total",
                       {{"upstream", escalation_->cfg.name}, {"outcome", "failed"}});
          const std::string s =
              "data: " +
              error_body({502, fmt::format("the upstream LLM failed: {}", err.what()),
                          "server_error", "", "upstream_error"})
                  .dump() +
              "\n\n";
          sink.write(s.data(), s.size());
        }
        if (gone) status = 499;  // the client went away; nothing more to send
        static const std::string done = "data: [DONE]\n\n";
        if (!gone) sink.write(done.data(), done.size());
        sink.done();
        e.cost_usd = e.baseline_usd = router::hosted_cost_usd(escalation_->cfg.prices, in, out);
        e.prompt_tokens = in;
        e.completion_tokens = out;
        e.target = e.route = escalation_->cfg.name;
        e.escalated = true;
        if (write && status == 200 && !finish.empty()) {
          CachedAnswer a;
          a.text = std::move(text);
          a.finish_reason = finish;
          a.model = model;
          a.route = e.route;
          a.intent = write->intent;
          a.reason = write->reason;
          a.confidence = write->confidence;
          a.prompt_tokens = in;
          a.completion_tokens = out;
          a.baseline_usd = e.baseline_usd;
          a.escalated = true;
          cache_->store(write->key, write->scope, a, std::move(write->embedding));
        }
        account(e, status, t0, model_ms + ms_since(tu), path);
        return true;
      });
}

}  // namespace rs::server
