// Percentiles (numpy's default linear interpolation), throughput and cost helpers.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/latency.h"

namespace rs::eval {
namespace {

TEST(Latency, PercentilesInterpolateLikeNumpy) {
  // np.percentile([1, 2, 3, 4], [50, 90, 99]) = [2.5, 3.7, 3.97]
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_NEAR(percentile(v, 90), 3.7, 1e-12);
  EXPECT_NEAR(percentile(v, 99), 3.97, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
  // np.percentile(range(1, 101), [50, 90, 99]) = [50.5, 90.1, 99.01]
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  const LatencySummary s = summarize_latency(hundred);
  EXPECT_DOUBLE_EQ(s.p50, 50.5);
  EXPECT_NEAR(s.p90, 90.1, 1e-9);
  EXPECT_NEAR(s.p99, 99.01, 1e-9);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_EQ(s.n, 100);
  EXPECT_THROW(percentile({}, 50), Error);
  EXPECT_THROW(percentile({1}, 101), Error);
}

TEST(Latency, ThroughputAndCost) {
  EXPECT_DOUBLE_EQ(throughput(500, 2.0), 250);
  EXPECT_DOUBLE_EQ(throughput(5, 0), 0);
  Pricing price;
  price.input_per_1m = 2.5;
  price.output_per_1m = 10.0;
  // 1000 in + 200 out: 0.0025 + 0.002
  EXPECT_NEAR(request_cost(1000, 200, price), 0.0045, 1e-15);
  const CostSummary c = summarize_cost({1000, 3000}, {200, 800}, price);
  EXPECT_EQ(c.requests, 2);
  EXPECT_NEAR(c.total, 0.0045 + 0.0075 + 0.008, 1e-15);
  EXPECT_NEAR(c.per_request, c.total / 2, 1e-15);
  EXPECT_NEAR(c.per_1m_tokens, c.total / 5000 * 1e6, 1e-9);
  EXPECT_NEAR(monthly_cost(0.01, 10000), 3000, 1e-9);
}

}  // namespace
}  // namespace rs::eval
