#include "eval/latency.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rs::eval {
namespace {

// numpy's _lerp: interpolating from the nearer end keeps the result monotone and exact at t = 1.
double lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

double percentile_sorted(const std::vector<double>& x, double p) {
  const double n = static_cast<double>(x.size());
  const double q = p / 100.0;
  const double h = std::clamp(q * (n - 1), 0.0, n - 1);
  const double lo = std::floor(h);
  const auto i = static_cast<size_t>(lo);
  if (i + 1 >= x.size()) return x.back();
  return lerp(x[i], x[i + 1], h - lo);
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  RS_CHECK(!values.empty(), "percentile of an empty list");
  RS_CHECK(p >= 0 && p <= 100, "percentile must be within 0 and 100 (got {})", p);
  std::sort(values.begin(), values.end());
  return percentile_sorted(values, p);
}

LatencySummary summarize_latency(std::vector<double> values) {
  RS_CHECK(!values.empty(), "no latencies to summarise");
  std::sort(values.begin(), values.end());
  LatencySummary s;
  s.n = static_cast<int64_t>(values.size());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  s.min = values.front();
  s.max = values.back();
  s.p50 = percentile_sorted(values, 50);
  s.p90 = percentile_sorted(values, 90);
  s.p95 = percentile_sorted(values, 95);
  s.p99 = percentile_sorted(values, 99);
  return s;
}

double throughput(double count, double seconds) {
  return seconds > 0 ? count / seconds : 0.0;
}

double request_cost(int64_t input_tokens, int64_t output_tokens, const Pricing& price) {
  return static_cast<double>(input_tokens) * price.input_per_1m / 1e6 +
         static_cast<double>(output_tokens) * price.output_per_1m / 1e6 + price.per_request;
}

CostSummary summarize_cost(const std::vector<int64_t>& input_tokens,
                           const std::vector<int64_t>& output_tokens, const Pricing& price) {
  RS_CHECK(input_tokens.size() == output_tokens.size(),
           "{} input token counts but {} output token counts", input_tokens.size(),
           output_tokens.size());
  CostSummary s;
  s.requests = static_cast<int64_t>(input_tokens.size());
  for (size_t i = 0; i < input_tokens.size(); ++i) {
    s.input_tokens += input_tokens[i];
    s.output_tokens += output_tokens[i];
    s.total += request_cost(input_tokens[i], output_tokens[i], price);
  }
  s.per_request = s.requests > 0 ? s.total / static_cast<double>(s.requests) : 0.0;
  const int64_t tokens = s.input_tokens + s.output_tokens;
  s.per_1m_tokens = tokens > 0 ? s.total / static_cast<double>(tokens) * 1e6 : 0.0;
  return s;
}

double monthly_cost(double cost_per_request, double requests_per_day, double days_per_month) {
  return cost_per_request * requests_per_day * days_per_month;
}

}  // namespace rs::eval
