// The upstream client against a real HTTP server on loopback (cpp-httplib) that injects the
// faults the client must survive: 500s, 429 with Retry-After, slow answers, dropped connections,
// broken streams, and a dead endpoint in the fallback list.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "core/error.h"
#include "upstream/client.h"

namespace rs::upstream {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// An HTTP server on a free loopback port, served from a background thread.
class FakeServer {
 public:
  FakeServer() {
    // One request per connection: stop() then need not wait out idle keep-alive connections
    // that the client's per-thread curl handle would hold open.
    svr_.set_keep_alive_max_count(1);
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    svr_.stop();
    thread_.join();
  }
  httplib::Server& svr() { return svr_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> hits{0};

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
};

json completion(const std::string& text) {
  return {{"object", "chat.completion"},
          {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}}}},
          {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 2}}}};
}

ClientOptions fast() {
  ClientOptions o;
  o.backoff_initial_s = 0.01;
  o.backoff_max_s = 0.02;
  o.timeout_s = 5;
  o.jitter_seed = 42;
  return o;
}

// A loopback port with nothing listening: bind a socket (no listen), note the port, close it.
std::string dead_url() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

TEST(UpstreamClient, ChatCompletionWithKeyHeadersAndModelOverride) {
  FakeServer fs;
  std::string auth, model, path, extra;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    auth = req.get_header_value("Authorization");
    extra = req.get_header_value("X-Rightsize-Cache");
    model = json::parse(req.body)["model"];
    path = req.path;
    res.set_header("X-Rightsize-Route", "local");
    res.set_content(completion("hi").dump(), "application/json");
  });
  Client c({{fs.url(), "sk-test", "override-model", {"X-Rightsize-Cache: bypass"}}}, fast());
  const Response r = c.chat_completions({{"model", "m"}, {"messages", json::array()}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(extra, "bypass");
  EXPECT_EQ(auth, "Bearer sk-test");
  EXPECT_EQ(model, "override-model");
  EXPECT_EQ(r.url, fs.url() + "/v1/chat/completions");
  EXPECT_EQ(r.json["choices"][0]["message"]["content"], "hi");
  EXPECT_EQ(r.header("x-rightsize-route").value_or(""), "local");
  EXPECT_EQ(r.header("X-RIGHTSIZE-ROUTE").value_or(""), "local");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_GT(r.latency_ms, 0);
}

TEST(UpstreamClient, EmbeddingsAndCompletionsPaths) {
  FakeServer fs;
  fs.svr().Post("/api/v1/embeddings", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data":[{"embedding":[0.5,0.25]}]})", "application/json");
  });
  fs.svr().Post("/api/v1/completions", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"choices":[{"text":"ok"}]})", "application/json");
  });
  Client c({{fs.url() + "/api/v1/", "", "", {}}}, fast());
  EXPECT_EQ(c.embeddings({{"input", "x"}}).json["data"][0]["embedding"][1], 0.25);
  EXPECT_EQ(c.completions({{"prompt", "x"}}).json["choices"][0]["text"], "ok");
}

TEST(UpstreamClient, RetriesServerErrorsThenSucceeds) {
  FakeServer fs;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    if (++fs.hits <= 2) {
      res.status = 503;
      res.set_content(R"({"error":{"message":"overloaded"}})", "application/json");
      return;
    }
    res.set_content(completion("third time").dump(), "application/json");
  });
  Client c({{fs.url(), "", "", {}}}, fast());
  const Response r = c.chat_completions({{"messages", json::array()}});
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(fs.hits, 3);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_NE(r.failures[0].find("HTTP 503: overloaded"), std::string::npos) << r.failures[0];
}

TEST(UpstreamClient, HonoursRetryAfter) {
  FakeServer fs;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    if (++fs.hits == 1) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      return;
    }
    res.set_content(completion("ok").dump(), "application/json");
  });
  Client c({{fs.url(), "", "", {}}}, fast());  // backoff alone would wait at most 20 ms
  const auto t0 = Clock::now();
  const Response r = c.chat_completions({{"messages", json::array()}});
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(waited, 0.95);
}

TEST(UpstreamClient, LongRetryAfterMovesToTheFallback) {
  FakeServer busy, spare;
  busy.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++busy.hits;
    res.status = 429;
    res.set_header("Retry-After", "3600");
  });
  spare.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion("spare").dump(), "application/json");
  });
  Client c({{busy.url(), "", "", {}}, {spare.url(), "", "", {}}}, fast());
  const Response r = c.chat_completions({{"messages", json::array()}});
  EXPECT_EQ(busy.hits, 1);
  EXPECT_EQ(r.endpoint, 1u);
  EXPECT_EQ(r.json["choices"][0]["message"]["content"], "spare");
}

TEST(UpstreamClient, ClientErrorsAreNotRetried) {
  FakeServer fs;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++fs.hits;
    res.status = 401;
    res.set_content(R"({"error":{"message":"Incorrect API key provided"}})", "application/json");
  });
  Client c({{fs.url(), "bad", "", {}}, {fs.url(), "bad", "", {}}}, fast());
  try {
    c.chat_completions({{"messages", json::array()}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(fs.url() + "/v1/chat/completions"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HTTP 401: Incorrect API key provided"), std::string::npos) << msg;
  }
  EXPECT_EQ(fs.hits, 1);
}

TEST(UpstreamClient, DeadEndpointFallsBackAndTimeoutsAreRetried) {
  FakeServer slow;
  slow.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    if (++slow.hits == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content(completion("late but fine").dump(), "application/json");
  });
  ClientOptions o = fast();
  o.timeout_s = 0.5;
  Client c({{dead_url(), "", "", {}}, {slow.url(), "", "", {}}}, o);
  const Response r = c.chat_completions({{"messages", json::array()}});
  EXPECT_EQ(r.endpoint, 1u);
  EXPECT_EQ(r.attempts, 3 + 2);  // 3 refused connections, one timeout, one success
  bool saw_timeout = false;
  for (const auto& f : r.failures) saw_timeout |= f.find("curl error 28") != std::string::npos;
  EXPECT_TRUE(saw_timeout);
}

TEST(UpstreamClient, DroppedConnectionIsRetried) {
  FakeServer fs;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    if (++fs.hits == 1) {
      // Headers promise a body, then the provider gives up: the connection closes mid-reply.
      res.set_content_provider(1000, "application/json",
                               [](size_t, size_t, httplib::DataSink&) { return false; });
      return;
    }
    res.set_content(completion("ok").dump(), "application/json");
  });
  Client c({{fs.url(), "", "", {}}}, fast());
  EXPECT_EQ(c.chat_completions({{"messages", json::array()}}).attempts, 2);
}

TEST(UpstreamClient, AllEndpointsDownNamesEachUrl) {
  const std::string a = dead_url(), b = dead_url();
  ClientOptions o = fast();
  o.max_retries = 1;
  Client c({{a, "", "", {}}, {b, "", "", {}}}, o);
  try {
    c.embeddings({{"input", "x"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("after 4 attempt(s) on 2 endpoint(s)"), std::string::npos) << msg;
    EXPECT_NE(msg.find(a + "/v1/embeddings: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(b + "/v1/embeddings: "), std::string::npos) << msg;
  }
}

TEST(UpstreamClient, CircuitBreakerSkipsAFailingEndpoint) {
  FakeServer broken, spare;
  broken.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++broken.hits;
    res.status = 500;
  });
  spare.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++spare.hits;
    res.set_content(completion("spare").dump(), "application/json");
  });
  ClientOptions o = fast();
  o.max_retries = 0;
  o.breaker_failures = 2;
  o.breaker_cooldown_s = 0.3;
  Client c({{broken.url(), "", "", {}}, {spare.url(), "", "", {}}}, o);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(c.chat_completions({{"messages", json::array()}}).endpoint, 1u);
  EXPECT_EQ(broken.hits, 2);  // requests 3..5 never reached it
  EXPECT_EQ(c.breaker_state(0), CircuitBreaker::State::kOpen);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(c.breaker_state(0), CircuitBreaker::State::kHalfOpen);
  c.chat_completions({{"messages", json::array()}});
  EXPECT_EQ(broken.hits, 3);  // the half-open trial, which failed: open again
  EXPECT_EQ(c.breaker_state(0), CircuitBreaker::State::kOpen);
  EXPECT_EQ(spare.hits, 6);
}

// An OpenAI chat stream: one content delta per event, then [DONE].
void stream_words(httplib::Response& res, std::vector<std::string> words, bool drop_after_two) {
  res.set_header("X-Rightsize-Cache", "miss");
  res.set_chunked_content_provider(
      "text/event-stream", [words, drop_after_two](size_t, httplib::DataSink& sink) {
        for (size_t i = 0; i < words.size(); ++i) {
          if (drop_after_two && i == 2) return false;  // connection reset mid-stream
          json chunk = {{"choices", {{{"index", 0}, {"delta", {{"content", words[i]}}}}}}};
          const std::string ev = "data: " + chunk.dump() + "\n\n";
          sink.write(ev.data(), ev.size());
        }
        const std::string done = ": done\n\ndata: [DONE]\n\n";
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      });
}

TEST(UpstreamClient, StreamsChunksUntilDone) {
  FakeServer fs;
  bool asked_stream = false;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    asked_stream = json::parse(req.body).value("stream", false);
    stream_words(res, {"Once", " upon", " a", " time"}, false);
  });
  Client c({{fs.url(), "", "", {}}}, fast());
  std::string text;
  const Response r = c.chat_completions_stream({{"messages", json::array()}}, [&](const json& ch) {
    text += ch["choices"][0]["delta"]["content"].get<std::string>();
    return true;
  });
  EXPECT_TRUE(asked_stream);
  EXPECT_EQ(text, "Once upon a time");
  EXPECT_EQ(r.chunks, 4);
  EXPECT_EQ(r.header("x-rightsize-cache").value_or(""), "miss");
  EXPECT_TRUE(r.json.is_null());
}

TEST(UpstreamClient, StreamStopsWhenTheHandlerSaysSo) {
  FakeServer fs;
  fs.svr().Post("/v1/completions", [&](const httplib::Request&, httplib::Response& res) {
    stream_words(res, {"a", "b", "c", "d"}, false);
  });
  Client c({{fs.url(), "", "", {}}}, fast());
  int n = 0;
  const Response r = c.completions_stream({{"prompt", "x"}}, [&](const json&) { return ++n < 2; });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(r.chunks, 2);
}

TEST(UpstreamClient, BrokenStreamAfterChunksIsAnError) {
  FakeServer fs;
  fs.svr().Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    ++fs.hits;
    stream_words(res, {"a", "b", "c"}, true);
  });
  Client c({{fs.url(), "", "", {}}}, fast());
  int n = 0;
  try {
    c.chat_completions_stream({{"messages", json::array()}}, [&](const json&) { return ++n > 0; });
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("after 2 chunk(s)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(fs.hits, 1);  // never retried: the caller already used two chunks
}

TEST(UpstreamClient, RetryAfterAndUrlParsing) {
  EXPECT_EQ(parse_retry_after(" 7 ").value_or(-1), 7);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").value_or(-1), 0);  // in the past
  EXPECT_FALSE(parse_retry_after("soon").has_value());
  EXPECT_EQ(join_url("http://h:1", "chat/completions"), "http://h:1/v1/chat/completions");
  EXPECT_EQ(join_url("https://api.x.com/v1/", "/embeddings"), "https://api.x.com/v1/embeddings");
  EXPECT_THROW(join_url("ftp://h", "x"), Error);
  EXPECT_THROW(join_url("localhost:8080", "x"), Error);
}

}  // namespace
}  // namespace rs::upstream
