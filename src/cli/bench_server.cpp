#include "cli/bench_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/error.h"
#include "eval/latency.h"
#include "upstream/client.h"

namespace rs::cli {
namespace {

using Clock = std::chrono::steady_clock;

// One level over all rounds: requests, tokens and time add up; tokens/s is also kept per round.
struct LevelResult {
  int streams = 0, requests = 0, failed = 0;
  int64_t tokens = 0;
  double wall_s = 0;
  std::vector<double> latency_ms, ttft_ms;
  std::vector<double> round_tokens_per_s;
  // The median over rounds: on a shared machine a level measured in a noisy minute is an
  // outlier, not the trend.
  double tokens_per_s() const {
    return round_tokens_per_s.empty() ? 0.0 : eval::percentile(round_tokens_per_s, 50);
  }
};

// `level` streams, each sending o.requests_per_stream requests one after another; adds to r.
void run_level(upstream::Client& client, const ServerBenchOptions& o, int level, uint64_t seed,
               LevelResult& r) {
  const int requests_before = r.requests;
  const int64_t tokens_before = r.tokens;
  std::mutex mu;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < level; ++s) {
    threads.emplace_back([&, s, stream_seed = seed + static_cast<uint64_t>(s) * 7919] {
      std::mt19937_64 rng(stream_seed);
      for (int q = 0; q < o.requests_per_stream; ++q) {
        // Random ids from a small range every vocabulary has; no shared prefix between requests.
        nlohmann::json prompt = nlohmann::json::array();
        for (int i = 0; i < o.prompt_tokens; ++i)
          prompt.push_back(static_cast<int>(100 + rng() % 200));
        nlohmann::json req = {
            {"model", o.model},           {"prompt", prompt},
            {"max_tokens", o.max_tokens}, {"temperature", 0},
            {"ignore_eos", true},         {"stream_options", {{"include_usage", true}}}};
        const auto start = Clock::now();
        double first = -1;
        int64_t tokens = 0;
        try {
          upstream::ChunkHandler on_chunk = [&](const nlohmann::json& chunk) {
            if (first < 0 && !chunk["choices"].empty())
              first = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
            if (chunk.contains("usage") && chunk["usage"].is_object())
              tokens = chunk["usage"]["completion_tokens"].get<int64_t>();
            return true;
          };
          client.completions_stream(req, on_chunk);
          const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
          std::lock_guard lk(mu);
          ++r.requests;
          r.tokens += tokens;
          r.latency_ms.push_back(ms);
          if (first >= 0) r.ttft_ms.push_back(first);
        } catch (const Error& e) {
          std::lock_guard lk(mu);
          ++r.failed;
          if (r.failed == 1) fmt::print(stderr, "bench: a request failed: {}\n", e.what());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const int64_t tokens = r.tokens - tokens_before;
  r.wall_s += wall;
  r.round_tokens_per_s.push_back(wall > 0 ? static_cast<double>(tokens) / wall : 0);
  if (!o.json)
    fmt::print(stderr, "bench: {} streams: {} requests, {:.1f} tokens/s\n", level,
               r.requests - requests_before, r.round_tokens_per_s.back());
}

}  // namespace

void run_server_bench(const ServerBenchOptions& o) {
  RS_CHECK(!o.concurrency.empty(), "give at least one --concurrency level");
  RS_CHECK(o.rounds >= 1 && o.rounds <= 100, "--rounds must be in [1, 100] (got {})", o.rounds);
  for (int level : o.concurrency)
    RS_CHECK(level >= 1 && level <= 1024, "concurrency {} is out of range", level);
  upstream::ClientOptions co;
  co.max_retries = 0;
  co.timeout_s = 600;
  upstream::Endpoint ep;
  ep.base_url = o.url;
  ep.api_key = o.api_key;
  upstream::Client client({ep}, co);

  // Rounds run the levels in turn (1, 4, 16, 1, 4, 16, ...), so slow phases of a shared machine
  // fall on every level alike.
  std::vector<LevelResult> results(o.concurrency.size());
  uint64_t seed = 1;
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t i = 0; i < o.concurrency.size(); ++i) {
      results[i].streams = o.concurrency[i];
      run_level(client, o, o.concurrency[i], seed, results[i]);
      seed += 1000003;
    }
  }

  nlohmann::json out = nlohmann::json::array();
  const double base = results.front().tokens_per_s();
  if (!o.json) {
    fmt::print(
        "Percentiles over all requests of a level, linear interpolation (numpy's default).{}\n",
        o.rounds > 1 ? fmt::format(" tokens/s: the median of {} rounds.", o.rounds) : "");
    fmt::print(
        "| streams | requests | failed | gen tokens/s | vs 1st level | latency p50 ms | p99 ms | "
        "TTFT p50 ms | TTFT p99 ms |\n");
    fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  for (const auto& r : results) {
    const double tps = r.tokens_per_s();
    auto pct = [](std::vector<double> v, double p) {
      return v.empty() ? 0.0 : eval::percentile(std::move(v), p);
    };
    const double p50 = pct(r.latency_ms, 50), p99 = pct(r.latency_ms, 99), t50 = pct(r.ttft_ms, 50),
                 t99 = pct(r.ttft_ms, 99);
    out.push_back({{"streams", r.streams},
                   {"requests", r.requests},
                   {"failed", r.failed},
                   {"generated_tokens", r.tokens},
                   {"wall_s", r.wall_s},
                   {"tokens_per_s", tps},
                   {"tokens_per_s_rounds", r.round_tokens_per_s},
                   {"speedup_vs_first", base > 0 ? tps / base : 0},
                   {"latency_p50_ms", p50},
                   {"latency_p99_ms", p99},
                   {"ttft_p50_ms", t50},
                   {"ttft_p99_ms", t99}});
    if (!o.json)
      fmt::print("| {} | {} | {} | {:.1f} | {:.2f}x | {:.0f} | {:.0f} | {:.0f} | {:.0f} |\n",
                 r.streams, r.requests, r.failed, tps, base > 0 ? tps / base : 0, p50, p99, t50,
                 t99);
  }
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"url", o.url},
                                      {"model", o.model},
                                      {"prompt_tokens", o.prompt_tokens},
                                      {"max_tokens", o.max_tokens},
                                      {"rounds", o.rounds},
                                      {"levels", out}}
                           .dump(2));
}

}  // namespace rs::cli
