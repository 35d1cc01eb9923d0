#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "server/http_util.h"
#include "server/openai_api.h"

namespace rs::server {
namespace {

// Latency buckets in seconds: sub-millisecond cache hits up to multi-minute generations.
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                             5,      10,    30,     60,    120,  300};
const std::vector<double> kTokenBuckets = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04,
                                           0.08,  0.16,   0.32,  0.64, 1.28};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.status == 429 || e.status == 503) res.set_header("Retry-After", "1");
  send_json(res, e.status, error_body(e));
}

Server::Server(ServerConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
  for (const ModelConfig& mc : cfg_.models) {
    auto m = std::make_unique<ServedModel>();
    m->cfg = mc;
    fmt::print(stderr, "serve: loading {} from {}\n", mc.name, mc.path);
    m->lm = load_model(mc.path, mc.tokenizer);
    m->pool = std::make_unique<ThreadPool>(mc.threads);
    m->created = unix_now();
    if (m->lm.model->hparams().generative()) {
      m->lm.require_tokenizer();
      if (!mc.chat_template.empty()) {
        auto f = chat_format_from_name(mc.chat_template);
        RS_CHECK(f, "model {}: unknown chat_template '{}' (one of: {})", mc.name, mc.chat_template,
                 chat_format_names());
        m->chat_format = *f;
      } else if (auto f = detect_chat_format(m->lm.chat_template)) {
        m->chat_format = *f;
      } else {
        fmt::print(stderr,
                   "serve: {} has {} chat template; chat requests use chatml (set chat_template to "
                   "change)\n",
                   mc.name, m->lm.chat_template.empty() ? "no" : "an unrecognized");
      }
      SchedulerOptions so;
      so.n_slots = mc.parallel;
      so.kv_type = parse_kv_type(mc.kv_type).value_or(KvType::F16);
      so.n_ctx = std::min<int64_t>(mc.ctx_size,
                                   m->lm.model->hparams().n_ctx_train > 0
                                       ? std::max<int64_t>(m->lm.model->hparams().n_ctx_train, 8)
                                       : mc.ctx_size);
      so.batch_tokens = mc.batch_tokens;
      so.max_queue = mc.queue;
      m->scheduler = std::make_unique<Scheduler>(m->lm, so, m->pool.get());
      m->adapters = std::make_unique<AdapterRegistry>(*m->lm.model);
      for (const AdapterConfig& ac : mc.adapters) {
        fmt::print(stderr, "serve: loading adapter {}:{} from {}\n", mc.name, ac.name, ac.path);
        m->adapters->load(ac.name, ac.path);
      }
    } else {
      RS_CHECK(mc.adapters.empty(), "model {} is an embedding model; it cannot take LoRA adapters",
               mc.name);
    }
    models_.push_back(std::move(m));
  }

  metrics_.counter("rightsize_requests_total", "HTTP requests by endpoint, model and status code");
  metrics_.histogram("rightsize_request_duration_seconds",
                     "Time from request to the last byte, by endpoint", kLatencyBuckets);
  metrics_.histogram("rightsize_time_to_first_token_seconds",
                     "Time from request to the first generated token", kLatencyBuckets);
  metrics_.histogram("rightsize_inter_token_seconds",
                     "Time between consecutive generated tokens of a request", kTokenBuckets);
  metrics_.counter("rightsize_prompt_tokens_total", "Prompt tokens received");
  metrics_.counter("rightsize_prompt_tokens_cached_total",
                   "Prompt tokens whose keys/values came from a cached prefix");
  metrics_.counter("rightsize_completion_tokens_total", "Tokens generated");
  metrics_.gauge("rightsize_queue_depth", "Requests waiting for a slot");
  metrics_.gauge("rightsize_active_sequences", "Sequences being generated");
  metrics_.gauge("rightsize_slots", "Sequences a model can generate together");
  metrics_.gauge("rightsize_kv_cache_tokens",
                 "Tokens held in KV caches (running and retained prefixes)");
  metrics_.gauge("rightsize_kv_cache_capacity_tokens", "KV cache capacity in tokens");
  metrics_.gauge("rightsize_requests_in_flight", "HTTP requests being handled");
  metrics_.on_render([this](Metrics& m) {
    m.set("rightsize_requests_in_flight", {}, in_flight_.load());
    for (const auto& sm : models_) {
      if (!sm->scheduler) continue;
      const SchedulerStats st = sm->scheduler->stats();
      const Labels l = {{"model", sm->cfg.name}};
      m.set("rightsize_queue_depth", l, st.queued);
      m.set("rightsize_active_sequences", l, st.active);
      m.set("rightsize_slots", l, st.slots);
      m.set("rightsize_kv_cache_tokens", l, static_cast<double>(st.kv_tokens_used));
      m.set("rightsize_kv_cache_capacity_tokens", l, static_cast<double>(st.kv_tokens_total));
    }
  });

  http_ = std::make_unique<httplib::Server>();
  int slots = 0;
  for (const auto& m : cfg_.models) slots += m.parallel + m.queue;
  // Each waiting or running request holds one HTTP thread (it blocks on its generation), so the
  // pool is sized for every slot and queue entry, plus room to answer 429s and /metrics.
  const int http_threads = cfg_.http_threads > 0 ? cfg_.http_threads : slots + 16;
  http_->new_task_queue = [http_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(http_threads));
  };
  http_->set_payload_max_length(static_cast<size_t>(cfg_.max_body_bytes));
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  // Without it, a response written as headers + body waits for the client's delayed ACK of
  // the first segment (Nagle): ~40 ms added to every keep-alive request.
  http_->set_tcp_nodelay(true);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half of the connections. SO_REUSEADDR alone allows a quick restart while a
  // second server on the port fails to bind, as it should.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  routes();
  init_router();
  init_cache();
}

Server::~Server() = default;

ServedModel* Server::find_model(const std::string& name) {
  if (name.empty() && models_.size() == 1) return models_[0].get();
  for (auto& m : models_)
    if (m->cfg.name == name) return m.get();
  return nullptr;
}

ModelTarget Server::resolve_model(const std::string& name) {
  ModelTarget t;
  t.name = name;
  t.model = find_model(name);
  if (t.model) {
    if (name.empty()) t.name = t.model->cfg.name;
    return t;
  }
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    const std::string base = name.substr(0, colon), adapter = name.substr(colon + 1);
    t.model = find_model(base);
    if (t.model && t.model->adapters) t.adapter = t.model->adapters->get(adapter);
    if (t.model && !t.adapter) {
      const auto names =
          t.model->adapters ? t.model->adapters->names() : std::vector<std::string>{};
      throw ApiError{
          404,
          fmt::format("model '{}' has no adapter '{}' (loaded: {})", base, adapter,
                      names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))),
          "invalid_request_error", "model", "model_not_found"};
    }
    if (t.model) return t;
  }
  throw ApiError{404,
                 name.empty() ? "model is required: this server has several models (GET /v1/models "
                                "lists them)"
                              : fmt::format("The model '{}' does not exist", name),
                 "invalid_request_error", "model", "model_not_found"};
}

void Server::count(const std::string& endpoint, const std::string& model, int status) {
  metrics_.inc("rightsize_requests_total",
               {{"endpoint", endpoint}, {"model", model}, {"status", std::to_string(status)}});
}

void Server::routes() {
  using httplib::Request;
  using httplib::Response;
  http_->set_pre_routing_handler([this](const Request& req, Response& res) {
    const bool api = req.path.rfind("/v1/", 0) == 0;
    const bool admin = req.path.rfind("/admin/", 0) == 0;  // admin keys, else the API keys
    const auto& keys = admin && !cfg_.admin_api_keys.empty() ? cfg_.admin_api_keys : cfg_.api_keys;
    if ((api || admin) && !keys.empty()) {
      const std::string auth = req.get_header_value("Authorization");
      bool ok = false;
      for (const auto& k : keys) ok = ok || auth == "Bearer " + k;
      if (!ok) {
        send_error(
            res, {401,
                  auth.empty() ? "missing API key: send the header 'Authorization: Bearer YOUR_KEY'"
                               : "incorrect API key provided",
                  "invalid_request_error", "", "invalid_api_key"});
        count(req.path, "", 401);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (api && draining_) {
      send_error(res, {503, "the server is shutting down", "server_error", "", "shutting_down"});
      count(req.path, "", 503);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib produces itself (unknown path, body too large, bad request line) get an
  // OpenAI-style body too.
  http_->set_error_handler([this](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    std::string msg = fmt::format("{} {} failed with status {}", req.method, req.path, res.status);
    if (res.status == 404) msg = fmt::format("no such endpoint: {} {}", req.method, req.path);
    if (res.status == 413)
      msg = fmt::format("the request body exceeds the limit of {} bytes", cfg_.max_body_bytes);
    send_error(res, {res.status, msg, res.status >= 500 ? "server_error" : "invalid_request_error",
                     "", ""});
    count(req.path, "", res.status);
  });
  http_->set_exception_handler([this](const Request& req, Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, {500, what, "server_error", "", ""});
    count(req.path, "", 500);
  });

  http_->Get("/health", [this](const Request&, Response& res) {
    send_json(res, draining_ ? 503 : 200, {{"status", draining_ ? "shutting_down" : "ok"}});
  });
  http_->Get("/metrics", [this](const Request&, Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/v1/models", [this](const Request& req, Response& res) {
    json data = json::array();
    for (const auto& m : models_) {
      data.push_back({{"id", m->cfg.name},
                      {"object", "model"},
                      {"created", m->created},
                      {"owned_by", "rightsize"}});
      if (m->adapters)
        for (const auto& a : m->adapters->names())
          data.push_back({{"id", m->cfg.name + ":" + a},
                          {"object", "model"},
                          {"created", m->created},
                          {"owned_by", "rightsize"},
                          {"parent", m->cfg.name}});
    }
    send_json(res, 200, {{"object", "list"}, {"data", data}});
    count(req.path, "", 200);
  });
  http_->Get(R"(/v1/models/(.+))", [this](const Request& req, Response& res) {
    try {
      const std::string name = req.matches[1];
      if (name.empty()) throw ApiError{404, "no model named", "invalid_request_error", "model", ""};
      const ModelTarget t = resolve_model(name);
      json body = {{"id", t.name},
                   {"object", "model"},
                   {"created", t.model->created},
                   {"owned_by", "rightsize"}};
      if (t.adapter) body["parent"] = t.model->cfg.name;
      send_json(res, 200, body);
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  });
  http_->Post("/v1/chat/completions", [this](const Request& req, Response& res) {
    handle_generation(req, res, static_cast<int>(Endpoint::Chat));
  });
  http_->Post("/v1/completions", [this](const Request& req, Response& res) {
    handle_generation(req, res, static_cast<int>(Endpoint::Completion));
  });
  http_->Post("/v1/embeddings",
              [this](const Request& req, Response& res) { handle_embeddings(req, res); });
  if (cfg_.runtime_adapters) adapter_routes();
}

void Server::handle_embeddings(const httplib::Request& req, httplib::Response& res) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string model_name;
  try {
    EmbeddingRequest er = parse_embedding_request(req.body);
    model_name = er.model;
    ServedModel* m = resolve_model(er.model).model;
    if (m->lm.model->hparams().generative())
      throw ApiError{
          400,
          fmt::format("model '{}' generates text; use an embedding model (bert) for /v1/embeddings",
                      m->cfg.name),
          "invalid_request_error", "model", "not_an_embedding_model"};
    const HParams& hp = m->lm.model->hparams();
    std::vector<std::vector<int32_t>> inputs = er.token_inputs;
    for (const auto& t : er.texts)
      inputs.push_back(m->lm.require_tokenizer().encode(t, true, false));
    json data = json::array();
    int64_t n_tokens = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (static_cast<int64_t>(inputs[i].size()) > hp.n_ctx_train)
        throw ApiError{
            400,
            fmt::format("input[{}] has {} tokens; the model's maximum context length is {}", i,
                        inputs[i].size(), hp.n_ctx_train),
            "invalid_request_error", "input", "context_length_exceeded"};
      for (int32_t id : inputs[i])
        if (id >= hp.n_vocab)
          throw ApiError{400,
                         fmt::format("input[{}] has token id {} outside the vocabulary", i, id),
                         "invalid_request_error", "input", ""};
      Vec e;
      {
        std::lock_guard lk(m->embed_mu);
        e = m->lm.model->embed(inputs[i], m->pool.get());
      }
      n_tokens += static_cast<int64_t>(inputs[i].size());
      json emb = er.base64 ? json(base64_encode(e.data(), e.size() * sizeof(float))) : json(e);
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", emb}});
    }
    send_json(res, 200,
              {{"object", "list"},
               {"data", data},
               {"model", m->cfg.name},
               {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    send_error(res, {400, e.what(), "invalid_request_error", "", ""});
  }
  count("/v1/embeddings", model_name, res.status);
  metrics_.observe("rightsize_request_duration_seconds", {{"endpoint", "/v1/embeddings"}},
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

bool Server::listen() {
  if (cfg_.port == 0) {
    port_ = http_->bind_to_any_port(cfg_.host);
    if (port_ <= 0) return false;
  } else {
    if (!http_->bind_to_port(cfg_.host, cfg_.port)) return false;
    port_ = cfg_.port;
  }
  fmt::print(stderr, "serve: listening on http://{}:{} ({} model{})\n", cfg_.host, port_,
             models_.size(), models_.size() == 1 ? "" : "s");
  return http_->listen_after_bind();
}

void Server::stop() {
  if (draining_.exchange(true)) return;
  fmt::print(stderr, "serve: shutting down (grace {} s)\n", cfg_.shutdown_grace_s);
  const auto grace = std::chrono::milliseconds(static_cast<int64_t>(cfg_.shutdown_grace_s * 1000));
  std::vector<std::thread> stoppers;
  for (auto& m : models_)
    if (m->scheduler) stoppers.emplace_back([&m, grace] { m->scheduler->shutdown(grace); });
  for (auto& t : stoppers) t.join();
  // Handlers of finished requests are writing their last bytes: give them a moment.
  for (int i = 0; i < 200 && in_flight_.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_->stop();
}

}  // namespace rs::server
