// POST /v1/chat/completions and /v1/completions: validate, tokenize, hand the job to the model's
// scheduler, then answer with one JSON body or an SSE stream as tokens arrive.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <optional>

#include "core/error.h"
#include "server/http_util.h"
#include "server/server.h"

namespace rs::server {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// What the scheduler thread hands to the HTTP thread of one request.
struct Flow {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<TokenEvent> events;
  std::optional<GenOutcome> done;
  Clock::time_point last_token{};
};

int status_of(const GenOutcome& o) {
  if (o.finish_reason == "timeout") return 504;
  if (o.finish_reason == "shutdown") return 503;
  if (o.finish_reason == "error") return 500;
  return 200;
}

ApiError error_of(const GenOutcome& o, double timeout_s) {
  if (o.finish_reason == "timeout")
    return {
        504,
        fmt::format("the request did not finish within the server's timeout of {} s", timeout_s),
        "server_error", "", "timeout"};
  if (o.finish_reason == "shutdown")
    return {503, "the server shut down before the request finished", "server_error", "",
            "shutting_down"};
  return {500, "generation failed: " + o.error, "server_error", "", ""};
}

}  // namespace

void Server::handle_generation(const httplib::Request& req, httplib::Response& res,
                               int endpoint_id) {
  const auto t0 = Clock::now();
  const auto endpoint = static_cast<Endpoint>(endpoint_id);
  const std::string path = endpoint == Endpoint::Chat ? "/v1/chat/completions" : "/v1/completions";
  // Decremented when the last byte is written, which for a stream is after this handler returns.
  ++in_flight_;
  auto in_flight = std::shared_ptr<void>(nullptr, [this, t0, path](void*) {
    --in_flight_;
    metrics_.observe("rightsize_request_duration_seconds", {{"endpoint", path}}, seconds_since(t0));
  });

  GenerationRequest gr;
  ModelTarget target;
  ServedModel* m = nullptr;
  auto job = std::make_shared<GenJob>();
  try {
    gr = parse_generation_request(req.body, endpoint);
    if (routes_request(gr.model)) {
      handle_routed(req, res, endpoint_id, gr, t0);
      return;
    }
    target = resolve_model(gr.model);
    m = target.model;
    job->lora = target.adapter;
    if (!m->scheduler)
      throw ApiError{
          400, fmt::format("model '{}' is an embedding model; use /v1/embeddings", m->cfg.name),
          "invalid_request_error", "model", "model_not_generative"};
    const Tokenizer& tok = m->lm.require_tokenizer();
    if (endpoint == Endpoint::Chat) {
      const std::string text =
          apply_chat_template(m->chat_format, gr.messages, /*add_generation_prompt=*/true);
      job->prompt = tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
    } else if (!gr.prompt_ids.empty()) {
      for (int32_t id : gr.prompt_ids)
        if (id >= m->lm.model->hparams().n_vocab)
          throw ApiError{400, fmt::format("prompt token id {} is outside the vocabulary", id),
                         "invalid_request_error", "prompt", ""};
      job->prompt = gr.prompt_ids;
    } else {
      job->prompt = tok.encode(gr.prompt, /*add_special=*/true, /*parse_special=*/false);
    }
    const int64_t n_ctx = m->scheduler->options().n_ctx,
                  n_prompt = static_cast<int64_t>(job->prompt.size());
    if (n_prompt == 0)
      throw ApiError{400, "the prompt is empty", "invalid_request_error", "prompt", ""};
    if (n_prompt >= n_ctx || (gr.max_tokens > 0 && n_prompt + gr.max_tokens > n_ctx))
      throw ApiError{
          400,
          fmt::format(
              "This model's maximum context length is {} tokens. However, you requested {} tokens "
              "({} in the prompt, {} for the completion). Shorten the prompt or lower max_tokens.",
              n_ctx, n_prompt + std::max<int64_t>(gr.max_tokens, 1), n_prompt,
              std::max<int64_t>(gr.max_tokens, 1)),
          "invalid_request_error", endpoint == Endpoint::Chat ? "messages" : "prompt",
          "context_length_exceeded"};
    job->max_tokens = gr.max_tokens > 0 ? gr.max_tokens : n_ctx - n_prompt;
    job->sampling = gr.sampling;
    job->stop = gr.stop;
    job->stop_at_eog = !gr.ignore_eos;
    job->deadline = Clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(cfg_.request_timeout_s * 1000));
  } catch (const ApiError& e) {
    send_error(res, e);
    count(path, gr.model, res.status);
    return;
  } catch (const Error& e) {
    send_error(res, {400, e.what(), "invalid_request_error", "", ""});
    count(path, gr.model, res.status);
    return;
  }

  const std::string model_name = target.name;
  auto flow = std::make_shared<Flow>();
  const Labels model_label = {{"model", model_name}};
  job->on_token = [this, flow, model_label](const TokenEvent& ev) {
    std::lock_guard lk(flow->mu);
    const auto now = Clock::now();
    if (flow->last_token != Clock::time_point{})
      metrics_.observe("rightsize_inter_token_seconds", model_label,
                       std::chrono::duration<double>(now - flow->last_token).count());
    flow->last_token = now;
    flow->events.push_back(ev);
    flow->cv.notify_all();
    return true;
  };
  job->on_done = [this, flow, model_label](const GenOutcome& o) {
    metrics_.inc("rightsize_prompt_tokens_total", model_label,
                 static_cast<double>(o.prompt_tokens));
    metrics_.inc("rightsize_prompt_tokens_cached_total", model_label,
                 static_cast<double>(o.cached_tokens));
    metrics_.inc("rightsize_completion_tokens_total", model_label,
                 static_cast<double>(o.completion_tokens));
    if (o.completion_tokens > 0)
      metrics_.observe("rightsize_time_to_first_token_seconds", model_label, o.ttft_ms / 1000);
    std::lock_guard lk(flow->mu);
    flow->done = o;
    flow->cv.notify_all();
  };
  if (!m->scheduler->submit(job)) {
    send_error(
        res, draining_
                 ? ApiError{503, "the server is shutting down", "server_error", "", "shutting_down"}
                 : ApiError{429,
                            fmt::format(
                                "too many requests are waiting for model '{}' ({} queued); retry "
                                "after a second",
                                model_name, m->scheduler->options().max_queue),
                            "rate_limit_error", "", "queue_full"});
    count(path, model_name, res.status);
    return;
  }

  const std::string id = new_id(endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-");
  const int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const Tokenizer* tok = m->lm.tokenizer.get();
  const double timeout_s = cfg_.request_timeout_s;
  // Log-probabilities of one event, in the endpoint's format.
  auto logprob_json = [endpoint, tok](const TokenEvent& ev) -> json {
    std::vector<std::pair<std::string, float>> top;
    for (const auto& t : ev.top) top.emplace_back(tok->token_to_piece(t.token, true), t.logprob);
    const std::string piece = tok->token_to_piece(ev.id, true);
    if (endpoint == Endpoint::Chat) return chat_logprob_entry(piece, ev.logprob, top);
    json tops = json::object();
    for (const auto& [t, lp] : top) tops[t] = lp;
    return {{"token", piece}, {"logprob", ev.logprob}, {"top", tops}};
  };

  if (gr.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const bool include_usage = gr.include_usage, want_logprobs = gr.logprobs;
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [=, this](size_t, httplib::DataSink& sink) {
          auto write = [&](const json& j) {
            const std::string s =
                "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
            return sink.write(s.data(), s.size());
          };
          static const std::string role = "assistant";
          if (*first && endpoint == Endpoint::Chat) {
            *first = false;
            if (!write(stream_chunk(endpoint, id, model_name, created, &role, "", nullptr))) {
              job->cancel = true;
              return false;
            }
          }
          std::deque<TokenEvent> events;
          std::optional<GenOutcome> done;
          {
            std::unique_lock lk(flow->mu);
            flow->cv.wait_for(lk, std::chrono::milliseconds(500),
                              [&] { return !flow->events.empty() || flow->done; });
            events.swap(flow->events);
            done = flow->done;
          }
          for (const TokenEvent& ev : events) {
            json lp = nullptr;
            if (want_logprobs)
              lp = endpoint == Endpoint::Chat ? json{{"content", json::array({logprob_json(ev)})}}
                                              : logprob_json(ev);
            if (ev.text.empty() && !want_logprobs) continue;
            if (!write(stream_chunk(endpoint, id, model_name, created, nullptr, ev.text, nullptr,
                                    lp))) {
              job->cancel = true;  // the client went away: free the slot
              return false;
            }
          }
          if (!done) {
            // Nothing new: probe the connection, so a vanished client is noticed while idle.
            if (events.empty() && !sink.is_writable()) {
              job->cancel = true;
              return false;
            }
            return true;
          }
          const int status = status_of(*done);
          if (status != 200) {
            write(error_body(error_of(*done, timeout_s)));
          } else {
            write(
                stream_chunk(endpoint, id, model_name, created, nullptr, "", &done->finish_reason));
            if (include_usage) {
              json u = stream_chunk(endpoint, id, model_name, created, nullptr, "", nullptr);
              u["choices"] = json::array();
              u["usage"] =
                  usage_json(done->prompt_tokens, done->completion_tokens, done->cached_tokens);
              write(u);
            }
          }
          static const std::string end = "data: [DONE]\n\n";
          sink.write(end.data(), end.size());
          sink.done();
          count(path, model_name, status);
          return true;
        },
        [job, in_flight](bool) { job->cancel = true; });
    return;
  }

  // Not streamed: wait for the whole answer. If it takes longer than a second, start a chunked
  // 200 response and send a space every half second while waiting (leading whitespace is valid
  // JSON): the only way to notice that the client hung up, so its slot can be freed.
  auto build = [=](const GenOutcome& o, std::deque<TokenEvent>& events) {
    Completion c;
    c.id = id;
    c.model = model_name;
    c.created = created;
    c.finish_reason = o.finish_reason;
    c.prompt_tokens = o.prompt_tokens;
    c.completion_tokens = o.completion_tokens;
    c.cached_tokens = o.cached_tokens;
    json lps = json::array();
    for (const TokenEvent& ev : events) {
      c.text += ev.text;
      if (gr.logprobs) lps.push_back(logprob_json(ev));
    }
    if (gr.logprobs) {
      if (endpoint == Endpoint::Chat) {
        c.logprobs = {{"content", lps}};
      } else {
        json tokens = json::array(), values = json::array(), tops = json::array();
        for (const auto& e : lps) {
          tokens.push_back(e["token"]);
          values.push_back(e["logprob"]);
          tops.push_back(e["top"]);
        }
        c.logprobs = {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}};
      }
    }
    return completion_body(endpoint, c);
  };
  {
    std::unique_lock lk(flow->mu);
    if (flow->cv.wait_for(lk, std::chrono::seconds(1), [&] { return flow->done.has_value(); })) {
      const GenOutcome o = *flow->done;
      std::deque<TokenEvent> events = std::move(flow->events);
      lk.unlock();
      if (status_of(o) != 200)
        send_error(res, error_of(o, timeout_s));
      else
        send_json(res, 200, build(o, events));
      count(path, model_name, res.status);
      return;
    }
  }
  res.set_chunked_content_provider(
      "application/json",
      [=, this](size_t, httplib::DataSink& sink) {
        std::unique_lock lk(flow->mu);
        if (!flow->cv.wait_for(lk, std::chrono::milliseconds(500),
                               [&] { return flow->done.has_value(); })) {
          lk.unlock();
          if (!sink.write(" ", 1)) {
            job->cancel = true;
            return false;
          }
          return true;
        }
        const GenOutcome o = *flow->done;
        std::deque<TokenEvent> events = std::move(flow->events);
        lk.unlock();
        const json body =
            status_of(o) != 200 ? error_body(error_of(o, timeout_s)) : build(o, events);
        const std::string s = body.dump(-1, ' ', false, json::error_handler_t::replace);
        sink.write(s.data(), s.size());
        sink.done();
        count(path, model_name, status_of(o));
        return true;
      },
      [job, in_flight](bool) { job->cancel = true; });
}

}  // namespace rs::server
