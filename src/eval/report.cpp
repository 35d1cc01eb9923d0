#include "eval/report.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace rs::eval {
namespace {

using json = nlohmann::json;

double num(const json& j, const char* key, const std::string& who) {
  RS_CHECK(j.contains(key) && j[key].is_number(),
           "{}: missing number \"{}\" (is it a `rightsize eval --out` file?)", who, key);
  return j[key].get<double>();
}

CompareSide side(const json& r, const CompareOptions& o, const char* which) {
  const std::string who = fmt::format("result {}", which);
  RS_CHECK(r.is_object() && r.contains("rightsize_eval"),
           "{} is not a `rightsize eval --out` result (no \"rightsize_eval\" field)", who);
  for (const char* k : {"quality", "latency_ms", "throughput", "cost"})
    RS_CHECK(r.contains(k) && r[k].is_object(), "{}: missing \"{}\"", who, k);
  CompareSide s;
  s.name = r.value("name", std::string(which));
  s.target = r.value("target", std::string());
  s.kind = r.value("target_kind", std::string());
  s.task = r.value("task", std::string());
  s.data = r.value("data", std::string());
  s.n = r.value("n", int64_t{0});
  const json& q = r["quality"];
  s.errors = q.value("errors", int64_t{0});
  if (q.contains("metric") && q["metric"].is_string() && q.contains("value") &&
      q["value"].is_number()) {
    s.quality_metric = q["metric"].get<std::string>();
    const double scale = s.quality_metric == "chrf" ? 1.0 : 100.0;
    s.quality = q["value"].get<double>() * scale;
  }
  if (q.contains("macro_f1") && q["macro_f1"].is_number())
    s.macro_f1 = q["macro_f1"].get<double>() * 100;
  s.p50 = num(r["latency_ms"], "p50", who);
  s.p90 = num(r["latency_ms"], "p90", who);
  s.p99 = num(r["latency_ms"], "p99", who);
  s.requests_per_s = num(r["throughput"], "requests_per_s", who);
  if (r.contains("ttft_ms") && r["ttft_ms"].is_object()) s.ttft_p50 = num(r["ttft_ms"], "p50", who);
  s.cost_per_request = num(r["cost"], "per_request", who);
  s.monthly_cost = s.cost_per_request * o.requests_per_day * o.days_per_month;
  if (r.contains("samples") && r["samples"].is_array())
    for (const auto& smp : r["samples"])
      if (!smp.contains("error") && smp.contains("latency_ms") && smp["latency_ms"].is_number())
        s.latencies.push_back(smp["latency_ms"].get<double>());
  return s;
}

std::string quality_name(const std::string& metric) {
  if (metric == "accuracy") return "accuracy (%)";
  if (metric == "rougeL_f") return "ROUGE-L F (x100)";
  if (metric == "chrf") return "chrF";
  return "quality";
}

std::string short_metric(const std::string& metric) {
  if (metric == "accuracy") return "accuracy";
  if (metric == "rougeL_f") return "ROUGE-L";
  return metric == "chrf" ? "chrF" : "quality";
}

std::string fmt_quality(const std::optional<double>& q) {
  return q ? fmt::format("{:.2f}", *q) : std::string("n/a");
}

}  // namespace

std::string format_usd(double v) {
  if (v == 0) return "$0";
  if (std::fabs(v) < 0.01) return fmt::format("${:.6f}", v);
  const auto cents = static_cast<long long>(std::llround(std::fabs(v) * 100));
  // Thousands separators, built right to left (std::string::insert here trips GCC 12's
  // -Wrestrict false positive).
  std::string rev;
  long long whole_units = cents / 100;
  for (int digits = 0; digits == 0 || whole_units > 0; ++digits, whole_units /= 10) {
    if (digits && digits % 3 == 0) rev.push_back(',');
    rev.push_back(static_cast<char>('0' + whole_units % 10));
  }
  const std::string whole(rev.rbegin(), rev.rend());
  return fmt::format("{}${}.{:02}", v < 0 ? "-" : "", whole, cents % 100);
}

Comparison compare_results(const json& ja, const json& jb, const CompareOptions& o) {
  RS_CHECK(o.requests_per_day >= 0, "--requests-per-day cannot be negative");
  RS_CHECK(o.max_quality_drop >= 0, "--max-quality-drop cannot be negative");
  Comparison c;
  c.options = o;
  c.a = side(ja, o, "A");
  c.b = side(jb, o, "B");
  const CompareSide &a = c.a, &b = c.b;
  RS_CHECK(a.task == b.task,
           "the results measure different tasks ({} and {}): compare like with like", a.task,
           b.task);
  RS_CHECK(
      a.quality_metric == b.quality_metric || a.quality_metric.empty() || b.quality_metric.empty(),
      "the results use different quality metrics ({} and {})", a.quality_metric, b.quality_metric);
  if (a.data != b.data || a.n != b.n)
    c.warnings.push_back(
        fmt::format("the two runs did not use the same examples ({} x{} vs {} x{}): "
                    "the comparison is indicative only",
                    a.data, a.n, b.data, b.n));
  for (const CompareSide* s : {&a, &b})
    if (s->errors > 0)
      c.warnings.push_back(
          fmt::format("{}: {} of {} requests failed (scored as wrong)", s->name, s->errors, s->n));
  const bool priced = a.cost_per_request > 0 || b.cost_per_request > 0;
  if (!priced) c.warnings.push_back("no prices were given: cost is not compared");
  const bool have_q = a.quality && b.quality;
  const std::string qn =
      quality_name(a.quality_metric.empty() ? b.quality_metric : a.quality_metric);

  auto pick = [&](int w, std::string headline) {
    c.recommended = w;
    c.headline = std::move(headline);
  };
  // 1. Latency objective.
  const bool a_ok = !o.max_p99_ms || a.p99 <= *o.max_p99_ms;
  const bool b_ok = !o.max_p99_ms || b.p99 <= *o.max_p99_ms;
  const CompareSide* sides[2] = {&a, &b};
  if (a_ok != b_ok) {
    const int w = a_ok ? 0 : 1;
    pick(w, fmt::format("Use {}: only it meets the p99 latency objective of {:.0f} ms",
                        sides[w]->name, *o.max_p99_ms));
    c.reasons.push_back(
        fmt::format("{} p99 {:.1f} ms breaks the objective; {} p99 {:.1f} ms meets it",
                    sides[1 - w]->name, sides[1 - w]->p99, sides[w]->name, sides[w]->p99));
  } else if (priced && a.cost_per_request != b.cost_per_request) {
    // 2./3. Cost against quality.
    const int cheap = a.cost_per_request < b.cost_per_request ? 0 : 1;
    const CompareSide& ch = *sides[cheap];
    const CompareSide& ex = *sides[1 - cheap];
    const double saving = ex.monthly_cost - ch.monthly_cost;
    const double pct =
        ex.cost_per_request > 0 ? 100 * (1 - ch.cost_per_request / ex.cost_per_request) : 0;
    const double drop = have_q ? ex.quality.value() - ch.quality.value() : 0;
    if (!have_q || drop <= o.max_quality_drop) {
      pick(cheap,
           fmt::format("Use {}: {} cheaper at {}", ch.name,
                       pct >= 0.05 ? fmt::format("{:.1f}%", pct) : "slightly",
                       have_q ? "the same quality within the allowed drop" : "unmeasured quality"));
      if (have_q)
        c.reasons.push_back(
            fmt::format("{} {} vs {} for {}: {} {:.2f} points, within the allowed {:.2f}", qn,
                        fmt_quality(ch.quality), fmt_quality(ex.quality), ex.name,
                        drop > 0 ? "down" : "up", std::fabs(drop), o.max_quality_drop));
      else
        c.reasons.push_back(
            "quality was not measured on this data (no references): decide on it separately");
      c.reasons.push_back(fmt::format(
          "saves {} per month at {:.0f} requests/day ({} vs {} per request)", format_usd(saving),
          o.requests_per_day, format_usd(ch.cost_per_request), format_usd(ex.cost_per_request)));
    } else {
      pick(1 - cheap,
           fmt::format("Use {}: {} scores {:.2f} {} points lower, more than the allowed {:.2f}",
                       ex.name, ch.name, drop, short_metric(a.quality_metric), o.max_quality_drop));
      c.reasons.push_back(
          fmt::format("the better quality costs {} more per month at {:.0f} requests/day",
                      format_usd(saving), o.requests_per_day));
    }
  } else {
    // Equal cost or unpriced: quality, then latency.
    int w = a.p99 <= b.p99 ? 0 : 1;
    if (have_q && std::fabs(a.quality.value() - b.quality.value()) > o.max_quality_drop)
      w = a.quality.value() > b.quality.value() ? 0 : 1;
    pick(w,
         fmt::format("Use {}: {}", sides[w]->name,
                     have_q && std::fabs(a.quality.value() - b.quality.value()) > o.max_quality_drop
                         ? "better quality at the same cost"
                         : "the same quality and cost, lower p99 latency"));
    if (have_q)
      c.reasons.push_back(fmt::format("{} {} vs {}", qn, fmt_quality(sides[w]->quality),
                                      fmt_quality(sides[1 - w]->quality)));
  }
  const CompareSide& win = *sides[c.recommended];
  const CompareSide& other = *sides[1 - c.recommended];
  c.reasons.push_back(fmt::format("latency p50/p99 {:.1f}/{:.1f} ms vs {:.1f}/{:.1f} ms ({})",
                                  win.p50, win.p99, other.p50, other.p99,
                                  win.p99 <= other.p99 ? "faster" : "slower"));
  c.reasons.push_back(fmt::format("throughput {:.2f} vs {:.2f} requests/s as measured",
                                  win.requests_per_s, other.requests_per_s));
  return c;
}

nlohmann::ordered_json comparison_json(const Comparison& c) {
  auto one = [&](const CompareSide& s) {
    nlohmann::ordered_json j = {{"name", s.name},
                                {"target", s.target},
                                {"kind", s.kind},
                                {"n", s.n},
                                {"errors", s.errors},
                                {"quality_metric", s.quality_metric},
                                {"quality", s.quality ? json(*s.quality) : json(nullptr)},
                                {"p50_ms", s.p50},
                                {"p90_ms", s.p90},
                                {"p99_ms", s.p99},
                                {"requests_per_s", s.requests_per_s},
                                {"cost_per_request", s.cost_per_request},
                                {"monthly_cost", s.monthly_cost}};
    if (s.macro_f1 >= 0) j["macro_f1"] = s.macro_f1;
    return j;
  };
  return {{"a", one(c.a)},
          {"b", one(c.b)},
          {"requests_per_day", c.options.requests_per_day},
          {"days_per_month", c.options.days_per_month},
          {"max_quality_drop", c.options.max_quality_drop},
          {"recommended", c.recommended == 0 ? "a" : "b"},
          {"headline", c.headline},
          {"reasons", c.reasons},
          {"warnings", c.warnings}};
}

std::string comparison_markdown(const Comparison& c) {
  const CompareSide &a = c.a, &b = c.b;
  const std::string qn =
      quality_name(a.quality_metric.empty() ? b.quality_metric : a.quality_metric);
  std::string md = fmt::format("# Decision report: {} vs {}\n\n", a.name, b.name);
  md += fmt::format(
      "Task `{}` on `{}` ({} examples). Monthly cost at {:.0f} requests/day, {:.0f} days.\n\n",
      a.task, a.data, a.n, c.options.requests_per_day, c.options.days_per_month);
  md += fmt::format("**{}**\n\n", c.headline);
  for (const auto& r : c.reasons) md += fmt::format("- {}\n", r);
  md += fmt::format("\n| | {} | {} |\n|---|---:|---:|\n", a.name, b.name);
  md += fmt::format("| target | {} ({}) | {} ({}) |\n", a.target, a.kind, b.target, b.kind);
  md += fmt::format("| {} | {} | {} |\n", qn, fmt_quality(a.quality), fmt_quality(b.quality));
  if (a.macro_f1 >= 0 && b.macro_f1 >= 0)
    md += fmt::format("| macro-F1 (%) | {:.2f} | {:.2f} |\n", a.macro_f1, b.macro_f1);
  md += fmt::format("| p50 latency (ms) | {:.1f} | {:.1f} |\n", a.p50, b.p50);
  md += fmt::format("| p90 latency (ms) | {:.1f} | {:.1f} |\n", a.p90, b.p90);
  md += fmt::format("| p99 latency (ms) | {:.1f} | {:.1f} |\n", a.p99, b.p99);
  if (a.ttft_p50 && b.ttft_p50)
    md += fmt::format("| p50 time to first token (ms) | {:.1f} | {:.1f} |\n", *a.ttft_p50,
                      *b.ttft_p50);
  md += fmt::format("| throughput (requests/s) | {:.2f} | {:.2f} |\n", a.requests_per_s,
                    b.requests_per_s);
  md += fmt::format("| cost per request | {} | {} |\n", format_usd(a.cost_per_request),
                    format_usd(b.cost_per_request));
  md += fmt::format("| cost per month | {} | {} |\n", format_usd(a.monthly_cost),
                    format_usd(b.monthly_cost));
  md += fmt::format("| failed requests | {} | {} |\n", a.errors, b.errors);
  if (!c.warnings.empty()) {
    md += "\nWarnings:\n";
    for (const auto& w : c.warnings) md += fmt::format("- {}\n", w);
  }
  md +=
      "\nLatency: end-to-end per request as the caller sees it; percentiles by linear "
      "interpolation between closest ranks (numpy default).\n";
  return md;
}

}  // namespace rs::eval
