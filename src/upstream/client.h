// An OpenAI-compatible HTTP client (libcurl) for the hosted LLMs rightsize escalates to and the
// servers `rightsize eval` measures: POST /chat/completions, /completions and /embeddings, whole
// or streamed (server-sent events, one callback per chunk until "data: [DONE]").
//
// Failure handling, in the order a request meets it:
//   * endpoints: an ordered fallback list; each has its own circuit breaker (circuit_breaker.h),
//     and an endpoint whose breaker is open is skipped without a network call;
//   * retries: a connection error, a timeout, HTTP 408/429/5xx or an unreadable 2xx body is
//     retried up to `max_retries` times on the same endpoint, waiting a jittered exponential
//     backoff or the server's Retry-After (seconds or HTTP date) when it sends one; a
//     Retry-After longer than `max_retry_after_s` moves on to the next endpoint instead;
//   * other 4xx (bad request, bad key, unknown model) are the caller's fault: no retry, no
//     fallback, an rs::Error with the URL, the status and the server's error message;
//   * a stream that breaks after chunks were handed out is not retried (the caller has already
//     used them): rs::Error naming the URL and how many chunks arrived.
// When everything fails the rs::Error lists each endpoint's last error.
//
// Thread-safe: requests from several threads run in parallel (one curl handle per thread, kept
// for connection reuse).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upstream/circuit_breaker.h"

namespace rs::upstream {

struct Endpoint {
  // Base URL as OpenAI SDKs take it, e.g. https://api.openai.com/v1. A URL with no path at all
  // (http://127.0.0.1:8080) gets "/v1", the prefix every OpenAI-compatible server uses.
  std::string base_url;
  std::string api_key;               // sent as "Authorization: Bearer KEY"; "" sends none
  std::string model;                 // when set, replaces the request's "model" for this endpoint
  std::vector<std::string> headers;  // extra request headers, "Name: value"
};

struct ClientOptions {
  double connect_timeout_s = 10;
  double timeout_s = 120;  // one attempt, connect to last byte
  int max_retries = 2;     // per endpoint, after the first attempt
  double backoff_initial_s = 0.5;
  double backoff_max_s = 8;
  double max_retry_after_s = 60;
  int breaker_failures = 5;  // consecutive failed attempts that open an endpoint's breaker
  double breaker_cooldown_s = 30;
  uint64_t jitter_seed = 0;  // 0: seeded from std::random_device
};

struct Response {
  int status = 0;
  std::string url;                    // the URL that answered
  size_t endpoint = 0;                // its index in the fallback list
  int attempts = 0;                   // HTTP attempts made, over all endpoints
  std::vector<std::string> failures;  // what went wrong before the answer (for logs)
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;          // the raw body (for a stream: the event-stream text)
  nlohmann::json json;       // the parsed body; null for streams
  int chunks = 0;            // stream chunks handed to the callback
  double latency_ms = 0;     // the answering attempt, request sent to last byte
  double first_byte_ms = 0;  // the answering attempt, to the first body byte

  // First header of that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

// Receives each parsed chunk of a stream; return false to stop reading (not an error).
using ChunkHandler = std::function<bool(const nlohmann::json& chunk)>;

// Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (RFC 9110 10.2.3);
// nullopt when unreadable.
std::optional<double> parse_retry_after(std::string_view value);

// base_url + "/" + path, adding "/v1" to a base URL without a path. rs::Error when the URL is not
// http:// or https://.
std::string join_url(std::string_view base_url, std::string_view path);

class Client {
 public:
  explicit Client(std::vector<Endpoint> endpoints, ClientOptions opts = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response chat_completions(const nlohmann::json& request) {
    return post("chat/completions", request);
  }
  Response completions(const nlohmann::json& request) { return post("completions", request); }
  Response embeddings(const nlohmann::json& request) { return post("embeddings", request); }
  // Streaming variants: set "stream": true and call on_chunk for every chunk.
  Response chat_completions_stream(nlohmann::json request, const ChunkHandler& on_chunk);
  Response completions_stream(nlohmann::json request, const ChunkHandler& on_chunk);

  // POST base_url/path with a JSON body; on_chunk != nullptr reads the answer as a stream.
  Response post(std::string_view path, const nlohmann::json& body,
                const ChunkHandler* on_chunk = nullptr);

  CircuitBreaker::State breaker_state(size_t endpoint) const;
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

 private:
  struct Impl;
  std::vector<Endpoint> endpoints_;
  ClientOptions opts_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rs::upstream
