// The decision report's arithmetic and recommendation rule on hand-made results.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/report.h"

namespace rs::eval {
namespace {

using json = nlohmann::json;

json result(const std::string& name, double acc, double p99, double cost, std::vector<double> lat) {
  json samples = json::array();
  for (double l : lat) samples.push_back({{"latency_ms", l}});
  return {
      {"rightsize_eval", 1},
      {"name", name},
      {"target", name + ".gguf"},
      {"target_kind", "local"},
      {"task", "classify"},
      {"data", "d.jsonl"},
      {"n", 100},
      {"quality", {{"metric", "accuracy"}, {"value", acc}, {"macro_f1", acc - 0.1}, {"errors", 0}}},
      {"latency_ms", {{"p50", p99 / 2}, {"p90", p99 * 0.9}, {"p99", p99}}},
      {"throughput", {{"requests_per_s", 1000 / p99}}},
      {"cost", {{"per_request", cost}}},
      {"samples", samples}};
}

TEST(Report, CheaperWinsWithinTheQualityDrop) {
  CompareOptions o;
  o.requests_per_day = 10000;
  const Comparison c = compare_results(result("slm", 0.931, 40, 0.00002, {10, 20, 40}),
                                       result("llm", 0.938, 900, 0.0012, {300, 600, 900}), o);
  EXPECT_EQ(c.recommended, 0);
  EXPECT_NEAR(c.a.monthly_cost, 0.00002 * 10000 * 30, 1e-9);  // $6
  EXPECT_NEAR(c.b.monthly_cost, 360, 1e-9);
  EXPECT_NEAR(*c.a.quality, 93.1, 1e-9);
  ASSERT_GE(c.reasons.size(), 2u);
  EXPECT_NE(c.reasons[1].find("saves $354.00 per month"), std::string::npos) << c.reasons[1];
  const std::string md = comparison_markdown(c);
  EXPECT_NE(md.find("| cost per month | $6.00 | $360.00 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("first token"), std::string::npos);  // neither run measured it
  json a = result("slm", 0.931, 40, 0.00002, {40}), b = result("llm", 0.938, 900, 0.0012, {900});
  a["ttft_ms"] = {{"p50", 12.5}};
  b["ttft_ms"] = {{"p50", 310.25}};
  EXPECT_NE(comparison_markdown(compare_results(a, b, o))
                .find("| p50 time to first token (ms) | 12.5 | 310.2 |"),
            std::string::npos);
  const std::string html = comparison_html(c);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("$360.00"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Report, QualityGapBeyondTheDropPicksTheBetterTarget) {
  CompareOptions o;
  o.max_quality_drop = 1.0;
  const Comparison c = compare_results(result("slm", 0.90, 40, 0.00002, {40}),
                                       result("llm", 0.95, 900, 0.0012, {900}), o);
  EXPECT_EQ(c.recommended, 1);
  EXPECT_NE(c.headline.find("scores 5.00 accuracy points lower"), std::string::npos) << c.headline;
}

TEST(Report, LatencyObjectiveComesFirst) {
  CompareOptions o;
  o.max_p99_ms = 500;
  const Comparison c = compare_results(result("slm", 0.90, 40, 0.002, {40}),
                                       result("llm", 0.95, 900, 0.0012, {900}), o);
  EXPECT_EQ(c.recommended, 0);
}

TEST(Report, RejectsMismatchedOrForeignInput) {
  json other = result("x", 0.9, 10, 0, {});
  other["task"] = "summarize";
  EXPECT_THROW(compare_results(result("a", 0.9, 10, 0, {}), other, {}), Error);
  EXPECT_THROW(compare_results(json{{"foo", 1}}, other, {}), Error);
}

TEST(Report, FormatUsd) {
  EXPECT_EQ(format_usd(0), "$0");
  EXPECT_EQ(format_usd(1234567.891), "$1,234,567.89");
  EXPECT_EQ(format_usd(0.0000123), "$0.000012");
  EXPECT_EQ(format_usd(999.999), "$1,000.00");
  EXPECT_EQ(format_usd(-12.5), "-$12.50");
}

}  // namespace
}  // namespace rs::eval
