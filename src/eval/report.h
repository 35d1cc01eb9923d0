// The SLM-vs-LLM decision report: two `rightsize eval` results (the same data through two
// targets) side by side — quality, p50/p99 latency, throughput, cost per request and per month
// at a given volume — with a recommendation and its reasons, as Markdown and as one
// self-contained HTML page with inline SVG charts (latency distribution, cost vs quality,
// monthly cost). No scripts, fonts or images from elsewhere: the page opens offline.
//
// The recommendation rule, in order:
//   1. a target whose p99 latency breaks --max-p99-ms (when given) loses to one that meets it;
//   2. otherwise the cheaper target wins when its quality is at most `max_quality_drop` points
//      below the other's (points: percentage points for accuracy and ROUGE, chrF points);
//   3. otherwise the better-quality target wins, and the report states what it costs per month.
// Equal cost (or no prices) falls back to quality, then to p99 latency.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rs::eval {

struct CompareOptions {
  double requests_per_day = 10000;
  double days_per_month = 30;
  double max_quality_drop = 1.0;  // in display points (see above)
  std::optional<double> max_p99_ms;
};

struct CompareSide {
  std::string name, target, kind, task, data;
  std::string quality_metric;     // "accuracy", "rougeL_f", "chrf" or "" (not measured)
  std::optional<double> quality;  // in display points (accuracy x 100, ...)
  double macro_f1 = -1;           // classify only
  int64_t n = 0, errors = 0;
  double p50 = 0, p90 = 0, p99 = 0, requests_per_s = 0;
  std::optional<double> ttft_p50;  // time to first token, when the run measured it
  double cost_per_request = 0, monthly_cost = 0;
  std::vector<double> latencies;  // ms, successful requests
};

struct Comparison {
  CompareSide a, b;
  CompareOptions options;
  int recommended = 0;  // 0: a, 1: b
  std::string headline;
  std::vector<std::string> reasons, warnings;
};

// rs::Error when the results are not eval results or measure different tasks/metrics.
Comparison compare_results(const nlohmann::json& a, const nlohmann::json& b,
                           const CompareOptions& o);

std::string comparison_markdown(const Comparison& c);
std::string comparison_html(const Comparison& c);
// The report as JSON (what `eval --compare --json` prints).
nlohmann::ordered_json comparison_json(const Comparison& c);

// "$1,234.57", "$0.000123": dollars with enough digits to show small per-request costs.
std::string format_usd(double v);

}  // namespace rs::eval
