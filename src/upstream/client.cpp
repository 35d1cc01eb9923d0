#include "upstream/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "upstream/sse.h"

namespace rs::upstream {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return std::string(s.substr(b, e - b));
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The server's own words: OpenAI puts them in {"error":{"message":...}}; otherwise a short
// prefix of the body.
std::string error_detail(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string())
      return e["message"].get<std::string>();
    if (e.is_string()) return e.get<std::string>();
  }
  std::string s = trim(body.substr(0, 200));
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s.empty() ? "(empty body)" : s;
}

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread, reset between requests: curl keeps the connection cache in the
// handle, so consecutive requests from a thread reuse their TCP/TLS connection.
struct HandleOwner {
  CURL* h = nullptr;
  ~HandleOwner() {
    if (h) curl_easy_cleanup(h);
  }
};
CURL* thread_handle() {
  thread_local HandleOwner owner;
  if (!owner.h) {
    curl_global();
    owner.h = curl_easy_init();
    RS_CHECK(owner.h, "cannot initialise libcurl");
  }
  curl_easy_reset(owner.h);
  return owner.h;
}

// What one HTTP attempt produced.
struct Attempt {
  CURLcode code = CURLE_OK;
  std::string curl_error;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double latency_ms = 0, first_byte_ms = -1;
  // Streaming state.
  const ChunkHandler* on_chunk = nullptr;
  std::unique_ptr<SseParser> sse;
  int chunks = 0;
  bool done = false;       // saw [DONE]
  bool cancelled = false;  // the handler returned false
  std::string stream_error;
  Clock::time_point start;
  CURL* handle = nullptr;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    a->headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    a->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const size_t len = size * n;
  if (a->first_byte_ms < 0) a->first_byte_ms = ms_between(a->start, Clock::now());
  a->body.append(data, len);
  if (!a->sse) return len;
  long status = 0;
  curl_easy_getinfo(a->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return len;             // an error body: read it whole
  if (!a->sse->feed(std::string_view(data, len))) return 0;  // aborts the transfer
  return len;
}

bool retryable_status(int status) {
  return status == 408 || status == 429 || status >= 500;
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (k == want) return v;
  return std::nullopt;
}

std::optional<double> parse_retry_after(std::string_view value) {
  const std::string v = trim(value);
  if (v.empty()) return std::nullopt;
  double secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc() && p == v.data() + v.size()) return secs < 0 ? 0.0 : secs;
  const time_t t = curl_getdate(v.c_str(), nullptr);
  if (t < 0) return std::nullopt;
  const double d = std::difftime(t, std::time(nullptr));
  return d < 0 ? 0.0 : d;
}

std::string join_url(std::string_view base_url, std::string_view path) {
  std::string base(trim(base_url));
  const size_t scheme = base.find("://");
  RS_CHECK(scheme != std::string::npos &&
               (base.rfind("http://", 0) == 0 || base.rfind("https://", 0) == 0),
           "'{}' is not an http:// or https:// URL", base);
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.find('/', scheme + 3) == std::string::npos) base += "/v1";
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return base + "/" + std::string(path);
}

struct Client::Impl {
  std::vector<std::unique_ptr<CircuitBreaker>> breakers;
  std::mutex rng_mu;
  std::mt19937_64 rng;

  // "Equal jitter": half the exponential delay is fixed, half uniform. Unlike full jitter it
  // never retries at once, and unlike no jitter, clients that failed together spread out.
  double backoff(const ClientOptions& o, int attempt) {
    const double d = std::min(o.backoff_max_s, o.backoff_initial_s * std::pow(2.0, attempt));
    std::lock_guard lock(rng_mu);
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    return d / 2 + u * d / 2;
  }
};

Client::Client(std::vector<Endpoint> endpoints, ClientOptions opts)
    : endpoints_(std::move(endpoints)), opts_(opts), impl_(std::make_unique<Impl>()) {
  RS_CHECK(!endpoints_.empty(), "no upstream endpoint given");
  for (auto& e : endpoints_) {
    e.base_url = join_url(e.base_url, "");
    e.base_url.pop_back();  // keep the normalised base without the trailing '/'
  }
  const auto cooldown = std::chrono::duration_cast<CircuitBreaker::Clock::duration>(
      std::chrono::duration<double>(opts_.breaker_cooldown_s));
  for (size_t i = 0; i < endpoints_.size(); ++i)
    impl_->breakers.push_back(std::make_unique<CircuitBreaker>(opts_.breaker_failures, cooldown));
  impl_->rng.seed(opts_.jitter_seed ? opts_.jitter_seed : std::random_device{}());
}

Client::~Client() = default;

CircuitBreaker::State Client::breaker_state(size_t endpoint) const {
  RS_CHECK(endpoint < impl_->breakers.size(), "no endpoint {}", endpoint);
  return impl_->breakers[endpoint]->state();
}

Response Client::chat_completions_stream(json request, const ChunkHandler& on_chunk) {
  request["stream"] = true;
  return post("chat/completions", request, &on_chunk);
}

Response Client::completions_stream(json request, const ChunkHandler& on_chunk) {
  request["stream"] = true;
  return post("completions", request, &on_chunk);
}

namespace {

Attempt perform(const std::string& url, const Endpoint& ep, const std::string& payload,
                const ClientOptions& o, const ChunkHandler* on_chunk) {
  Attempt a;
  a.on_chunk = on_chunk;
  if (on_chunk) {
    a.sse = std::make_unique<SseParser>([&a](const SseEvent& ev) {
      const std::string data = trim(ev.data);
      if (data == "[DONE]") {
        a.done = true;
        return false;
      }
      json chunk = json::parse(data, nullptr, false);
      if (chunk.is_discarded()) {
        a.stream_error =
            fmt::format("stream chunk {} is not JSON: {}", a.chunks + 1, data.substr(0, 120));
        return false;
      }
      if (chunk.is_object() && chunk.contains("error")) {
        a.stream_error = "the server sent an error in the stream: " + error_detail(data);
        return false;
      }
      ++a.chunks;
      if (!(*a.on_chunk)(chunk)) {
        a.cancelled = true;
        return false;
      }
      return true;
    });
  }
  CURL* h = thread_handle();
  a.handle = h;
  curl_slist* hdrs = nullptr;
  hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
  hdrs =
      curl_slist_append(hdrs, on_chunk ? "Accept: text/event-stream" : "Accept: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");  // no 100-continue round trip for large bodies
  for (const auto& line : ep.headers) hdrs = curl_slist_append(hdrs, line.c_str());
  std::string auth;
  if (!ep.api_key.empty()) {
    auth = "Authorization: Bearer " + ep.api_key;
    hdrs = curl_slist_append(hdrs, auth.c_str());
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "rightsize/0.1");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we are multi-threaded
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_s * 1000));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_s * 1000));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  a.start = Clock::now();
  a.code = curl_easy_perform(h);
  a.latency_ms = ms_between(a.start, Clock::now());
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  a.status = static_cast<int>(status);
  curl_slist_free_all(hdrs);
  if (a.code != CURLE_OK)
    a.curl_error =
        fmt::format("{} (curl error {})", errbuf[0] ? errbuf : curl_easy_strerror(a.code),
                    static_cast<int>(a.code));
  if (a.sse) a.sse->finish();
  return a;
}

}  // namespace

Response Client::post(std::string_view path, const json& body, const ChunkHandler* on_chunk) {
  RS_CHECK(body.is_object(), "the request body must be a JSON object");
  std::vector<std::string> last_error(endpoints_.size());
  Response res;
  for (size_t e = 0; e < endpoints_.size(); ++e) {
    const Endpoint& ep = endpoints_[e];
    CircuitBreaker& breaker = *impl_->breakers[e];
    const std::string url = join_url(ep.base_url, path);
    json req = body;
    if (!ep.model.empty()) req["model"] = ep.model;
    const std::string payload = req.dump(-1, ' ', false, json::error_handler_t::replace);
    for (int attempt = 0; attempt <= opts_.max_retries; ++attempt) {
      if (!breaker.allow()) {
        last_error[e] = "circuit breaker open (too many consecutive failures), skipped";
        res.failures.push_back(url + ": " + last_error[e]);
        break;
      }
      ++res.attempts;
      Attempt a = perform(url, ep, payload, opts_, on_chunk);
      std::string failure;
      bool retry = true;
      std::optional<double> retry_after;
      if (a.cancelled || a.done ||
          (a.code == CURLE_OK && a.status >= 200 && a.status < 300 && a.stream_error.empty())) {
        if (on_chunk && !a.done && !a.cancelled) {
          failure = fmt::format("the stream ended without [DONE] after {} chunk(s)", a.chunks);
        } else if (!on_chunk) {
          res.json = json::parse(a.body, nullptr, false);
          if (res.json.is_discarded()) failure = "the answer is not JSON: " + error_detail(a.body);
        }
        if (failure.empty()) {
          breaker.on_success();
          res.status = a.status;
          res.url = url;
          res.endpoint = e;
          res.headers = std::move(a.headers);
          res.body = std::move(a.body);
          res.chunks = a.chunks;
          res.latency_ms = a.latency_ms;
          res.first_byte_ms = std::max(0.0, a.first_byte_ms);
          if (on_chunk) res.json = nullptr;
          return res;
        }
      } else if (!a.stream_error.empty()) {
        failure = a.stream_error;
      } else if (a.code != CURLE_OK) {
        failure = a.curl_error;
      } else {
        failure = fmt::format("HTTP {}: {}", a.status, error_detail(a.body));
        if (!retryable_status(a.status)) retry = false;
        for (const auto& [k, v] : a.headers)
          if (k == "retry-after") retry_after = parse_retry_after(v);
      }
      if (!retry) {
        breaker.on_success();  // the endpoint answered; the request is what is wrong
        fail("POST {}: {}", url, failure);
      }
      if (a.chunks > 0)
        fail("POST {}: the stream broke after {} chunk(s) were delivered: {}", url, a.chunks,
             failure);
      breaker.on_failure();
      last_error[e] = failure;
      res.failures.push_back(url + ": " + failure);
      if (attempt == opts_.max_retries) break;
      double wait = impl_->backoff(opts_, attempt);
      if (retry_after) {
        if (*retry_after > opts_.max_retry_after_s) {
          last_error[e] += fmt::format(" (Retry-After {:.0f}s is longer than the {:.0f}s limit)",
                                       *retry_after, opts_.max_retry_after_s);
          break;
        }
        wait = *retry_after;
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
  std::string why;
  for (size_t e = 0; e < endpoints_.size(); ++e)
    why += fmt::format("{}{}: {}", e ? "; " : "", join_url(endpoints_[e].base_url, path),
                       last_error[e].empty() ? "not tried" : last_error[e]);
  fail("upstream request failed after {} attempt(s) on {} endpoint(s): {}", res.attempts,
       endpoints_.size(), why);
}

}  // namespace rs::upstream
