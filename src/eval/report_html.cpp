// The decision report as one HTML page with inline SVG (see report.h). Charts are drawn here by
// hand: three small plots do not justify a plotting dependency, and the page must stay
// self-contained.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "eval/report.h"

namespace rs::eval {
namespace {

const char* kColor[2] = {"#1f6fb4", "#d9462b"};

std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += ch;
    }
  }
  return o;
}

// "Nice" tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).
std::vector<double> nice_ticks(double lo, double hi, int want = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / want;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
  return t;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) < 1e-3) {  // small dollar amounts: 0.00005 rather than 5e-05
    std::string t = fmt::format("{:.8f}", v);
    while (t.back() == '0') t.pop_back();
    return t;
  }
  if (std::fabs(v) >= 100) return fmt::format("{:.0f}", v);
  if (std::fabs(v) >= 1) return fmt::format("{:.3g}", v);
  return fmt::format("{:.2g}", v);
}

struct Frame {
  double w = 540, h = 300, left = 64, right = 20, top = 20, bottom = 48;
  double x0, x1, y0, y1;
  bool logx = false;
  double px(double x) const {
    const double f = logx ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0))
                          : (x - x0) / (x1 - x0);
    return left + f * (w - left - right);
  }
  double py(double y) const { return top + (1 - (y - y0) / (y1 - y0)) * (h - top - bottom); }
};

std::string axes(const Frame& f, const std::vector<double>& xt, const std::vector<double>& yt,
                 const std::string& xlabel, const std::string& ylabel, const std::string& yunit) {
  std::string s;
  for (double y : yt) {
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#e3e3e3"/>)",
                     f.left, f.py(y), f.w - f.right, f.py(y));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" font-size="11">{}{}</text>)",
                     f.left - 6, f.py(y) + 4, tick_label(y), yunit);
  }
  for (double x : xt) {
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#e3e3e3"/>)",
                     f.px(x), f.top, f.px(x), f.h - f.bottom);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="11">{}</text>)",
                     f.px(x), f.h - f.bottom + 16, tick_label(x));
  }
  s += fmt::format(
      R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="none" stroke="#888"/>)",
      f.left, f.top, f.w - f.left - f.right, f.h - f.top - f.bottom);
  s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="12">{}</text>)",
                   (f.left + f.w - f.right) / 2, f.h - 10, esc(xlabel));
  s += fmt::format(
      R"svg(<text x="14" y="{:.1f}" text-anchor="middle" font-size="12" transform="rotate(-90 14 {:.1f})">{}</text>)svg",
      (f.top + f.h - f.bottom) / 2, (f.top + f.h - f.bottom) / 2, esc(ylabel));
  return s;
}

std::string svg_open(const Frame& f, const std::string& title) {
  return fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" role="img" aria-label="{}">)",
      f.w, f.h, esc(title));
}

// Cumulative distribution of each side's latencies, with p50 and p99 marked.
std::string latency_chart(const Comparison& c) {
  const CompareSide* s[2] = {&c.a, &c.b};
  double lo = INFINITY, hi = 0;
  for (auto* x : s)
    for (double v : x->latencies) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  Frame f;
  if (!(hi > 0)) return "<p>No latencies recorded.</p>";
  f.logx =
      lo > 0 && hi / lo > 20;  // spread over orders of magnitude: a log axis keeps both visible
  std::vector<double> xt;
  if (f.logx) {
    f.x0 = std::pow(10.0, std::floor(std::log10(lo)));
    f.x1 = std::pow(10.0, std::ceil(std::log10(hi)));
    for (double d = f.x0; d <= f.x1 * 1.0001; d *= 10)
      for (double m : {1.0, 2.0, 5.0})
        if (d * m >= f.x0 && d * m <= f.x1 * 1.0001) xt.push_back(d * m);
  } else {
    f.x0 = 0;
    xt = nice_ticks(0, hi * 1.05);
    f.x1 = xt.back();
  }
  f.y0 = 0;
  f.y1 = 100;
  std::string svg = svg_open(f, "latency distribution");
  svg += axes(f, xt, {0, 25, 50, 75, 100},
              f.logx ? "latency per request (ms, log scale)" : "latency per request (ms)",
              "requests at or below (%)", "");
  for (int k = 0; k < 2; ++k) {
    std::vector<double> v = s[k]->latencies;
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    std::string pts = fmt::format("{:.1f},{:.1f}", f.px(v[0]), f.py(0));
    for (size_t i = 0; i < v.size(); ++i) {
      const double y0 = 100.0 * static_cast<double>(i) / static_cast<double>(v.size());
      const double y1 = 100.0 * static_cast<double>(i + 1) / static_cast<double>(v.size());
      pts +=
          fmt::format(" {:.1f},{:.1f} {:.1f},{:.1f}", f.px(v[i]), f.py(y0), f.px(v[i]), f.py(y1));
    }
    svg += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)",
                       kColor[k], pts);
    for (auto [p, val] : {std::pair{50.0, s[k]->p50}, std::pair{99.0, s[k]->p99}}) {
      const double x = f.px(std::clamp(val, f.x0, f.x1));
      svg += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"/>)", x, f.py(p),
                         kColor[k]);
      svg += fmt::format(
          R"(<text x="{:.1f}" y="{:.1f}" font-size="11" fill="{}">p{:.0f} {:.1f}</text>)", x + 6,
          f.py(p) + (k ? 14 : -6), kColor[k], p, val);
    }
  }
  svg += "</svg>";
  return svg;
}

// Cost per request against quality: where each target sits in the trade-off.
std::string cost_quality_chart(const Comparison& c) {
  const CompareSide* s[2] = {&c.a, &c.b};
  if (!c.a.quality || !c.b.quality)
    return "<p>Quality was not measured: no cost-quality chart.</p>";
  Frame f;
  const double cmax = std::max(c.a.cost_per_request, c.b.cost_per_request);
  std::vector<double> xt = nice_ticks(0, cmax > 0 ? cmax * 1.15 : 1);
  f.x0 = 0;
  f.x1 = xt.back();
  const double qlo = std::min(*c.a.quality, *c.b.quality),
               qhi = std::max(*c.a.quality, *c.b.quality);
  const double pad = std::max(2.0, (qhi - qlo) * 0.25);
  std::vector<double> yt = nice_ticks(std::max(0.0, qlo - pad), qhi + pad);
  f.y0 = yt.front();
  f.y1 = yt.back();
  std::string svg = svg_open(f, "cost versus quality");
  svg += axes(f, xt, yt, cmax > 0 ? "cost per request ($)" : "cost per request (not priced)",
              c.a.quality_metric == "accuracy" ? "accuracy (%)" : c.a.quality_metric, "");
  for (int k = 0; k < 2; ++k) {
    const double x = f.px(s[k]->cost_per_request), y = f.py(*s[k]->quality);
    svg += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="7" fill="{}"/>)", x, y, kColor[k]);
    const bool right = x < f.w - 200;
    svg += fmt::format(
        R"(<text x="{:.1f}" y="{:.1f}" font-size="12" text-anchor="{}" fill="{}">{} ({:.2f}, {})</text>)",
        right ? x + 10 : x - 10, y - 8, right ? "start" : "end", kColor[k], esc(s[k]->name),
        *s[k]->quality, format_usd(s[k]->cost_per_request));
  }
  svg += "</svg>";
  return svg;
}

std::string monthly_chart(const Comparison& c) {
  const CompareSide* s[2] = {&c.a, &c.b};
  const double mx = std::max(c.a.monthly_cost, c.b.monthly_cost);
  if (!(mx > 0)) return "<p>Not priced: no monthly cost chart.</p>";
  std::string svg =
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="540" height="110" role="img" aria-label="monthly cost">)";
  for (int k = 0; k < 2; ++k) {
    const double w = 300 * s[k]->monthly_cost / mx;
    const double y = 14 + k * 46;
    svg += fmt::format(R"(<text x="0" y="{:.0f}" font-size="12">{}</text>)", y + 18,
                       esc(s[k]->name.substr(0, 26)));
    svg += fmt::format(R"(<rect x="170" y="{:.0f}" width="{:.1f}" height="26" fill="{}"/>)", y,
                       std::max(1.0, w), kColor[k]);
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.0f}" font-size="12">{}</text>)", 176 + w, y + 18,
                       format_usd(s[k]->monthly_cost));
  }
  svg += "</svg>";
  return svg;
}

}  // namespace

std::string comparison_html(const Comparison& c) {
  const CompareSide &a = c.a, &b = c.b;
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>rightsize "
      "decision "
      "report: {} vs {}</title>\n",
      esc(a.name), esc(b.name));
  h +=
      "<style>\n"
      "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px "
      "auto;max-width:1120px;color:#222}\n"
      "h1{font-size:24px;margin-bottom:4px}.sub{color:#555;margin-top:0}\n"
      ".rec{background:#eef7ee;border-left:6px solid #2e8b3a;padding:12px 18px;margin:16px 0}\n"
      ".rec h2{margin:0 0 6px 0;font-size:19px}.warn{background:#fff6e0;border-left:6px solid "
      "#d99a00;padding:8px 18px}\n"
      "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:6px 14px}\n"
      "td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\n"
      ".charts{display:flex;flex-wrap:wrap;gap:24px}.chart h3{font-size:15px;margin:8px 0}\n"
      ".sw{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}\n"
      ".note{color:#555;font-size:13px}\n</style></head><body>\n";
  h += fmt::format("<h1>Decision report: {} vs {}</h1>\n", esc(a.name), esc(b.name));
  h += fmt::format(
      "<p class=\"sub\">Task <b>{}</b> on <code>{}</code>, {} examples. Monthly cost at {:.0f} "
      "requests/day over {:.0f} days.</p>\n",
      esc(a.task), esc(a.data), a.n, c.options.requests_per_day, c.options.days_per_month);
  h += fmt::format("<div class=\"rec\"><h2>{}</h2><ul>\n", esc(c.headline));
  for (const auto& r : c.reasons) h += fmt::format("<li>{}</li>\n", esc(r));
  h += "</ul></div>\n";
  if (!c.warnings.empty()) {
    h += "<div class=\"warn\"><ul>\n";
    for (const auto& w : c.warnings) h += fmt::format("<li>{}</li>\n", esc(w));
    h += "</ul></div>\n";
  }
  auto row = [&](const std::string& name, const std::string& va, const std::string& vb) {
    h += fmt::format("<tr><th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                     esc(name), esc(va), esc(vb));
  };
  h += fmt::format(
      "<table><tr><th></th><th><span class=\"sw\" style=\"background:{}\"></span>{}</th>"
      "<th><span class=\"sw\" style=\"background:{}\"></span>{}</th></tr>\n",
      kColor[0], esc(a.name), kColor[1], esc(b.name));
  row("target", fmt::format("{} ({})", a.target, a.kind), fmt::format("{} ({})", b.target, b.kind));
  const std::string qn = a.quality_metric == "accuracy"   ? "accuracy (%)"
                         : a.quality_metric == "rougeL_f" ? "ROUGE-L F (x100)"
                         : a.quality_metric == "chrf"     ? "chrF"
                                                          : "quality";
  row(qn, a.quality ? fmt::format("{:.2f}", *a.quality) : "n/a",
      b.quality ? fmt::format("{:.2f}", *b.quality) : "n/a");
  if (a.macro_f1 >= 0 && b.macro_f1 >= 0)
    row("macro-F1 (%)", fmt::format("{:.2f}", a.macro_f1), fmt::format("{:.2f}", b.macro_f1));
  row("p50 latency (ms)", fmt::format("{:.1f}", a.p50), fmt::format("{:.1f}", b.p50));
  row("p90 latency (ms)", fmt::format("{:.1f}", a.p90), fmt::format("{:.1f}", b.p90));
  row("p99 latency (ms)", fmt::format("{:.1f}", a.p99), fmt::format("{:.1f}", b.p99));
  if (a.ttft_p50 && b.ttft_p50)
    row("p50 time to first token (ms)", fmt::format("{:.1f}", *a.ttft_p50),
        fmt::format("{:.1f}", *b.ttft_p50));
  row("throughput (requests/s)", fmt::format("{:.2f}", a.requests_per_s),
      fmt::format("{:.2f}", b.requests_per_s));
  row("cost per request", format_usd(a.cost_per_request), format_usd(b.cost_per_request));
  row("cost per month", format_usd(a.monthly_cost), format_usd(b.monthly_cost));
  row("failed requests", std::to_string(a.errors), std::to_string(b.errors));
  h += "</table>\n<div class=\"charts\">\n";
  h += fmt::format("<div class=\"chart\"><h3>Latency distribution (cumulative)</h3>{}</div>\n",
                   latency_chart(c));
  h +=
      fmt::format("<div class=\"chart\"><h3>Cost vs quality</h3>{}</div>\n", cost_quality_chart(c));
  h += fmt::format("<div class=\"chart\"><h3>Projected monthly cost</h3>{}</div>\n",
                   monthly_chart(c));
  h +=
      "</div>\n<p class=\"note\">Latency is end-to-end per request as the caller sees it; "
      "p50/p90/p99 "
      "interpolate linearly between the closest ranks (numpy's default). Throughput is completed "
      "requests per wall-clock second at each run's concurrency. Cost per request = tokens x price "
      "per 1M tokens, plus the hourly price divided by the measured requests per hour. Generated "
      "by <code>rightsize eval --compare</code>.</p>\n</body></html>\n";
  return h;
}

}  // namespace rs::eval
