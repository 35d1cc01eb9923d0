// Latency percentiles, throughput and cost: the numbers the SLM-vs-LLM report puts side by side.
//
// Percentile method: linear interpolation between the two closest ranks, the same as numpy's
// default (np.percentile(..., method="linear"), Hyndman & Fan type 7): for sorted x[0..n-1] and
// p in [0, 100], h = (n - 1) p / 100 and the result is x[floor(h)] + (h - floor(h)) *
// (x[floor(h)+1] - x[floor(h)]). So p50 of an even count is the mean of the middle two, p0 the
// minimum and p100 the maximum.
#pragma once

#include <cstdint>
#include <vector>

namespace rs::eval {

// One percentile of `values` (any order). rs::Error when empty or p is outside [0, 100].
double percentile(std::vector<double> values, double p);

struct LatencySummary {
  int64_t n = 0;
  double mean = 0, min = 0, max = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;
};
LatencySummary summarize_latency(std::vector<double> values);

// Items per second: requests/s or tokens/s (0 when no time elapsed).
double throughput(double count, double seconds);

// Prices in currency units per one million tokens (how providers quote them), plus an optional
// fixed price per request.
struct Pricing {
  double input_per_1m = 0;
  double output_per_1m = 0;
  double per_request = 0;
};

double request_cost(int64_t input_tokens, int64_t output_tokens, const Pricing& price);

struct CostSummary {
  int64_t requests = 0;
  int64_t input_tokens = 0, output_tokens = 0;
  double total = 0;
  double per_request = 0;    // total / requests
  double per_1m_tokens = 0;  // total per million tokens, input and output together
};
// Sums per-request token counts (`input_tokens[i]`, `output_tokens[i]`, same length).
CostSummary summarize_cost(const std::vector<int64_t>& input_tokens,
                           const std::vector<int64_t>& output_tokens, const Pricing& price);

// Projected cost of a month at a steady volume.
double monthly_cost(double cost_per_request, double requests_per_day, double days_per_month = 30);

}  // namespace rs::eval
