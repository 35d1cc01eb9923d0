// The cost ledger: what each request cost, where it went, and what sending it to the LLM would
// have cost, summed per route and per tenant. The saving is measured request by request:
//   hosted model:      prompt_tokens x $in/1M + completion_tokens x $out/1M (the upstream's usage)
//   self-hosted model: $/hour x the request's share of the forward passes it took part in
//                      (Scheduler: each pass's time split over its tokens), i.e. $/hour divided
//                      by the throughput measured while it ran;
//   cache hit:         0 (no model ran); its baseline is the cached answer's baseline
//   baseline:          the upstream's prices applied to the request's own token counts (for a
//                      local answer: prompt and completion as the local tokenizer counts them).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace rs::router {

struct TokenPrices {
  double input_per_1m = 0;   // $ per 1M prompt tokens
  double output_per_1m = 0;  // $ per 1M completion tokens
};

double hosted_cost_usd(const TokenPrices& p, int64_t prompt_tokens, int64_t completion_tokens);
double local_cost_usd(double price_per_hour, double compute_ms);

// One request, as the ledger and the decision log keep it.
struct LedgerEntry {
  std::string tenant, route, intent, target, reason;
  bool escalated = false;
  double confidence = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0, baseline_usd = 0;
  double latency_ms = 0, classify_ms = 0, overhead_ms = 0;
  int status = 200;
  std::string detail;  // e.g. why validation failed or the upstream error; never request text
  std::string cache;   // the x-rightsize-cache value: off, bypass, miss, hit-exact, hit-semantic
  double cache_similarity = 0;  // of a semantic hit
  std::string pii;  // e.g. "redacted card=1,email=2" or "pinned email=1"; never the values
  bool cache_hit() const { return cache.rfind("hit", 0) == 0; }
};

struct LedgerTotals {
  int64_t requests = 0, local = 0, escalated = 0, cached = 0;  // cached: answered by the cache
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0, baseline_usd = 0;
  double savings_usd() const { return baseline_usd - cost_usd; }
};

class CostLedger {
 public:
  void record(const LedgerEntry& e);
  LedgerTotals total() const;
  std::map<std::string, LedgerTotals> by_route() const;
  std::map<std::string, LedgerTotals> by_tenant() const;
  double upstream_spend(const std::string& tenant) const;  // escalated cost so far

 private:
  mutable std::mutex mu_;
  LedgerTotals total_;
  std::map<std::string, LedgerTotals> by_route_, by_tenant_;
  std::map<std::string, double> upstream_spend_;
};

}  // namespace rs::router
