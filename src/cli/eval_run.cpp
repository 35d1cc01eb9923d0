#include "cli/eval_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "eval/classification.h"
#include "eval/dataset.h"
#include "eval/label_match.h"
#include "eval/latency.h"
#include "eval/report.h"
#include "eval/rouge.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUnmatched = "<unmatched>";
constexpr const char* kFailed = "<error>";
constexpr const char* kLatencyMethod =
    "end-to-end wall time per successful request as the caller sees it (prompt sent to whole "
    "answer received, retries included), in ms; percentiles interpolate linearly between the "
    "closest ranks (numpy's default, Hyndman-Fan type 7)";

struct Outcome {
  TargetReply reply;
  double latency_ms = 0;
  std::string error;
};

json latency_json(const eval::LatencySummary& s, const char* method) {
  return {{"method", method}, {"n", s.n},     {"mean", s.mean}, {"min", s.min}, {"p50", s.p50},
          {"p90", s.p90},     {"p95", s.p95}, {"p99", s.p99},   {"max", s.max}};
}

int default_max_tokens(eval::EvalTask t) {
  return t == eval::EvalTask::kClassify ? 16 : 128;
}

json classify_quality(const std::vector<eval::EvalExample>& rows, const std::vector<Outcome>& out,
                      const eval::LabelMatcher& matcher, std::vector<std::string>& preds) {
  std::vector<std::string> gold;
  int64_t unmatched = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    gold.push_back(rows[i].label);
    if (!out[i].error.empty()) {
      preds.emplace_back(kFailed);
      continue;
    }
    auto m = matcher.match(out[i].reply.text);
    unmatched += !m;
    preds.push_back(m ? *m : kUnmatched);
  }
  const eval::ClassificationReport r = eval::classification_report(gold, preds);
  // Macro F1 over the real labels only: an unmatched or failed answer costs its gold class
  // recall, but the placeholders are not classes of their own (they would add a zero F1 each).
  double f1 = 0;
  int classes = 0;
  for (const auto& c : r.per_class) {
    if (c.label == kUnmatched || c.label == kFailed) continue;
    f1 += c.score.f1;
    ++classes;
  }
  return {{"metric", "accuracy"},
          {"value", r.accuracy},
          {"accuracy", r.accuracy},
          {"macro_f1", classes ? f1 / classes : 0.0},
          {"weighted_f1", r.weighted.f1},
          {"unmatched", unmatched},
          {"matching",
           "answer normalised (lowercase, non-alphanumerics to spaces); its first line equal to "
           "a label, else the earliest whole-word label in it (longest on ties), else unmatched "
           "(wrong)"}};
}

json text_quality(eval::EvalTask task, const std::vector<eval::EvalExample>& rows,
                  const std::vector<Outcome>& out, bool stem) {
  size_t n_refs = 0;
  bool all_refs = true;
  for (const auto& r : rows) {
    n_refs = std::max(n_refs, r.references.size());
    all_refs &= !r.references.empty();
  }
  if (!all_refs)
    return {{"metric", nullptr}, {"value", nullptr}, {"note", "no references in the data"}};
  std::vector<std::string> hyps;
  std::vector<std::vector<std::string>> streams(n_refs);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string h = out[i].reply.text;
    // ROUGE treats lines as sentences; BLEU/chrF want one segment: keep the text on one line.
    std::replace(h.begin(), h.end(), '\n', ' ');
    hyps.push_back(h);
    for (size_t k = 0; k < n_refs; ++k)
      streams[k].push_back(k < rows[i].references.size() ? rows[i].references[k] : "");
  }
  if (task == eval::EvalTask::kSummarize) {
    eval::RougeOptions ro;
    ro.stem = stem;
    const eval::RougeReport rep = eval::corpus_rouge(hyps, streams, ro);
    json q = {{"metric", "rougeL_f"}};
    for (size_t m = 0; m < rep.names.size(); ++m)
      q[rep.names[m] + "_f"] = rep.averages[m].average.f;
    q["value"] = q["rougeL_f"];
    q["stem"] = stem;
    q["method"] =
        fmt::format("ROUGE-1.5.5 -n 2 -a -f A{} (average F over examples)", stem ? " -m" : "");
    return q;
  }
  const eval::BleuScore b = eval::corpus_bleu(hyps, streams, {});
  const double chrf = eval::corpus_chrf(hyps, streams, {});
  return {{"metric", "chrf"},
          {"value", chrf},
          {"chrf", chrf},
          {"bleu", b.score},
          {"method", "sacrebleu corpus chrF2 and BLEU (13a, exp smoothing)"}};
}

}  // namespace

json run_eval(const EvalRunOptions& o) {
  const eval::EvalTask task = eval::parse_eval_task(o.task);
  RS_CHECK(o.concurrency >= 1 && o.concurrency <= 256, "--concurrency must be within 1 and 256");
  RS_CHECK(o.warmup >= 0 && o.limit >= 0 && o.max_tokens >= 0,
           "--warmup, --limit and --max-tokens cannot be negative");
  RS_CHECK(o.price_in >= 0 && o.price_out >= 0 && o.price_hour >= 0, "prices cannot be negative");
  std::vector<eval::EvalExample> rows = eval::load_eval_data(o.data, task);
  // The label set comes from the whole file, so --limit does not shrink the choices offered.
  std::vector<std::string> labels;
  if (task == eval::EvalTask::kClassify) {
    std::set<std::string> s;
    for (const auto& r : rows) s.insert(r.label);
    labels.assign(s.begin(), s.end());
  }
  if (o.limit > 0 && static_cast<size_t>(o.limit) < rows.size())
    rows.resize(static_cast<size_t>(o.limit));
  const size_t n = rows.size();
  std::optional<eval::LabelMatcher> matcher;
  if (task == eval::EvalTask::kClassify) matcher.emplace(labels);
  const std::string tmpl =
      o.prompt_template.empty() ? eval::default_prompt_template(task) : o.prompt_template;
  std::vector<std::string> prompts;
  for (const auto& r : rows) prompts.push_back(eval::fill_prompt(tmpl, r.text, labels));
  const int max_tokens = o.max_tokens > 0 ? o.max_tokens : default_max_tokens(task);

  TargetOptions topt = o.target;
  topt.workers = o.concurrency;
  auto target = make_target(topt);

  // Warm-up: load caches, open connections, fault the weights in. A failure here stops the run
  // before it produces a misleading result.
  for (int i = 0; i < o.warmup; ++i) {
    try {
      target->complete(prompts[static_cast<size_t>(i) % n], max_tokens, 0);
    } catch (const std::exception& e) {
      fail("warm-up request {} failed: {}", i + 1, e.what());
    }
  }

  std::vector<Outcome> out(n);
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0;
  std::string first_error;  // in time order: the later ones are often consequences of it
  ProgressBar bar("eval", n, "requests", o.progress);
  const auto t0 = Clock::now();
  auto work = [&](int worker) {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      const auto t = Clock::now();
      try {
        out[i].reply = target->complete(prompts[i], max_tokens, worker);
      } catch (const std::exception& e) {
        out[i].error = e.what();
      }
      out[i].latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      std::lock_guard lock(mu);
      if (first_error.empty() && !out[i].error.empty()) first_error = out[i].error;
      bar.update(++done);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < o.concurrency; ++w) threads.emplace_back(work, w);
  work(0);
  for (auto& t : threads) t.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  bar.finish();

  std::vector<double> lat;
  std::vector<int64_t> in_tok, out_tok;
  size_t errors = 0;
  bool usage = true;
  for (const auto& r : out) {
    if (!r.error.empty()) {
      ++errors;
      continue;
    }
    lat.push_back(r.latency_ms);
    in_tok.push_back(r.reply.prompt_tokens);
    out_tok.push_back(r.reply.completion_tokens);
    usage &= r.reply.usage_reported;
  }
  RS_CHECK(errors < n, "all {} requests failed; the first: {}", n, first_error);

  std::vector<std::string> preds;
  json quality = task == eval::EvalTask::kClassify ? classify_quality(rows, out, *matcher, preds)
                                                   : text_quality(task, rows, out, o.stem);
  quality["errors"] = errors;
  const eval::LatencySummary ls = eval::summarize_latency(lat);
  const double rps = eval::throughput(static_cast<double>(lat.size()), wall_s);
  const eval::CostSummary tc = eval::summarize_cost(in_tok, out_tok, {o.price_in, o.price_out, 0});
  // Self-hosted cost: the machine's hourly price over the requests it completed per hour at
  // this concurrency.
  const double hour_part = o.price_hour > 0 && rps > 0 ? o.price_hour / 3600.0 / rps : 0.0;

  json r;
  r["rightsize_eval"] = 1;
  r["name"] = o.name.empty() ? target->describe() : o.name;
  r["target"] = o.target.target;
  r["target_kind"] = target->kind();
  r["task"] = eval::to_string(task);
  r["data"] = o.data;
  r["n"] = n;
  if (!labels.empty()) r["labels"] = labels;
  r["prompt_template"] = tmpl;
  r["settings"] = {{"concurrency", o.concurrency},
                   {"warmup", o.warmup},
                   {"limit", o.limit},
                   {"max_tokens", max_tokens}};
  if (target->kind() == "http") {
    r["settings"]["api"] = o.target.api;
    r["settings"]["model"] = o.target.model;
  }
  r["quality"] = quality;
  r["latency_ms"] = latency_json(ls, kLatencyMethod);
  std::vector<double> ttft;
  for (const auto& x : out)
    if (x.error.empty() && x.reply.ttft_ms >= 0) ttft.push_back(x.reply.ttft_ms);
  if (!ttft.empty()) {
    r["ttft_ms"] = latency_json(eval::summarize_latency(ttft),
                                "time from sending the request to the first piece of answer "
                                "text, ms; percentiles as for latency_ms");
  }
  r["throughput"] = {
      {"wall_s", wall_s},
      {"requests_per_s", rps},
      {"output_tokens_per_s", eval::throughput(static_cast<double>(tc.output_tokens), wall_s)},
      {"concurrency", o.concurrency}};
  r["tokens"] = {
      {"input", tc.input_tokens},
      {"output", tc.output_tokens},
      {"mean_input", static_cast<double>(tc.input_tokens) / static_cast<double>(lat.size())},
      {"mean_output", static_cast<double>(tc.output_tokens) / static_cast<double>(lat.size())},
      {"usage_reported", usage}};
  r["cost"] = {{"price_in_per_1m", o.price_in},
               {"price_out_per_1m", o.price_out},
               {"price_per_hour", o.price_hour},
               {"token_part", tc.per_request},
               {"hour_part", hour_part},
               {"per_request", tc.per_request + hour_part},
               {"method",
                "per request: input tokens x price-in + output tokens x price-out (per 1M), plus "
                "price-hour / 3600 / measured requests per second"}};
  r["errors"] = {{"count", errors}, {"first", first_error}};
  // Through a rightsize server: how many requests each route took (x-rightsize-route).
  std::map<std::string, int64_t> routes;
  for (const auto& o2 : out)
    for (const auto& [k, v] : o2.reply.rightsize_headers)
      if (k == "x-rightsize-route") ++routes[v];
  if (!routes.empty()) r["routes"] = routes;
  json samples = json::array();
  for (size_t i = 0; i < n; ++i) {
    json s = {
        {"line", rows[i].line}, {"output", out[i].reply.text}, {"latency_ms", out[i].latency_ms}};
    if (out[i].reply.ttft_ms >= 0) s["ttft_ms"] = out[i].reply.ttft_ms;
    if (!preds.empty()) {
      s["prediction"] = preds[i];
      s["gold"] = rows[i].label;
    }
    if (!out[i].error.empty()) s["error"] = out[i].error;
    if (!out[i].reply.rightsize_headers.empty()) {
      json h = json::object();
      for (const auto& [k, v] : out[i].reply.rightsize_headers) h[k] = v;
      s["rightsize_headers"] = h;
    }
    samples.push_back(s);
  }
  r["samples"] = samples;
  return r;
}

void print_eval_result(const json& r) {
  const json& q = r["quality"];
  fmt::print("{}: {} examples of {} through {} ({})\n", r["name"].get<std::string>(),
             r["n"].get<int64_t>(), r["data"].get<std::string>(), r["target"].get<std::string>(),
             r["target_kind"].get<std::string>());
  if (r["task"] == "classify")
    fmt::print("accuracy {:.4f}  macro-F1 {:.4f}  ({} unmatched answers)\n",
               q["accuracy"].get<double>(), q["macro_f1"].get<double>(),
               q["unmatched"].get<int64_t>());
  else if (q["metric"] == "rougeL_f")
    fmt::print("ROUGE-1 {:.4f}  ROUGE-2 {:.4f}  ROUGE-L {:.4f}  (F, {})\n",
               q["rouge1_f"].get<double>(), q["rouge2_f"].get<double>(),
               q["rougeL_f"].get<double>(), q["stem"].get<bool>() ? "stemmed" : "no stemming");
  else if (q["metric"] == "chrf")
    fmt::print("chrF {:.2f}  BLEU {:.2f}\n", q["chrf"].get<double>(), q["bleu"].get<double>());
  else
    fmt::print("quality: not measured (the data has no references)\n");
  const json& l = r["latency_ms"];
  fmt::print("latency ms: p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  (mean {:.1f}, max {:.1f})\n",
             l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
             l["mean"].get<double>(), l["max"].get<double>());
  if (r.contains("ttft_ms"))
    fmt::print("time to first token ms: p50 {:.1f}  p90 {:.1f}  p99 {:.1f}\n",
               r["ttft_ms"]["p50"].get<double>(), r["ttft_ms"]["p90"].get<double>(),
               r["ttft_ms"]["p99"].get<double>());
  const json& t = r["throughput"];
  fmt::print("throughput: {:.2f} requests/s, {:.1f} output tokens/s at concurrency {}\n",
             t["requests_per_s"].get<double>(), t["output_tokens_per_s"].get<double>(),
             t["concurrency"].get<int>());
  const json& c = r["cost"];
  if (c["per_request"].get<double>() > 0)
    fmt::print("cost: {} per request ({} per 1k requests)\n",
               eval::format_usd(c["per_request"].get<double>()),
               eval::format_usd(c["per_request"].get<double>() * 1000));
  else
    fmt::print("cost: not priced (give --price-in/--price-out or --price-hour)\n");
  if (r["errors"]["count"].get<int64_t>() > 0)
    fmt::print("errors: {} failed requests (scored as wrong); first: {}\n",
               r["errors"]["count"].get<int64_t>(), r["errors"]["first"].get<std::string>());
}

}  // namespace rs::cli
