// The options and callback of `rightsize eval` itself (its subcommand `eval metrics` lives in
// cmd_eval.cpp): run a data set through a target, or compare two runs (--compare).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/eval_run.h"
#include "core/error.h"
#include "eval/report.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;

struct EvalMainOpts {
  EvalRunOptions run;
  std::vector<std::string> compare;
  std::string out, md, html, api_key_env = "OPENAI_API_KEY";
  eval::CompareOptions cmp;
  double max_p99_ms = 0;
  bool json = false;
};

std::string dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  RS_CHECK(f.good(), "cannot write '{}'", path);
  f << text;
  RS_CHECK(f.good(), "error writing '{}'", path);
}

// A compare argument is a result file (JSON from --out) or a target to run now.
json load_or_run(const std::string& arg, const EvalMainOpts& o) {
  std::error_code ec;
  if (!is_url_target(arg) && std::filesystem::is_regular_file(arg, ec) &&
      std::filesystem::path(arg).extension() == ".json") {
    std::ifstream f(arg, std::ios::binary);
    RS_CHECK(f.good(), "cannot open '{}'", arg);
    json j = json::parse(f, nullptr, false);
    RS_CHECK(!j.is_discarded(), "'{}' is not valid JSON", arg);
    return j;
  }
  RS_CHECK(!o.run.data.empty(),
           "--compare {}: to run a target give --data (or pass a result .json)", arg);
  EvalRunOptions r = o.run;
  r.target.target = arg;
  r.name.clear();
  return run_eval(r);
}

void run_compare(EvalMainOpts& o) {
  RS_CHECK(o.compare.size() == 2, "--compare takes two results or targets, got {}",
           o.compare.size());
  if (o.max_p99_ms > 0) o.cmp.max_p99_ms = o.max_p99_ms;
  const json a = load_or_run(o.compare[0], o);
  const json b = load_or_run(o.compare[1], o);
  const eval::Comparison c = eval::compare_results(a, b, o.cmp);
  const std::string md = eval::comparison_markdown(c);
  if (!o.md.empty()) write_file(o.md, md);
  if (!o.html.empty()) write_file(o.html, eval::comparison_html(c));
  if (o.json)
    fmt::print("{}\n", dump(eval::comparison_json(c), 2));
  else
    fmt::print("{}", md);
}

}  // namespace

void register_eval_run(CLI::App& eval) {
  auto o = std::make_shared<EvalMainOpts>();
  EvalRunOptions& r = o->run;
  eval.add_option("--data", r.data, "JSON Lines data set (see --task for the fields)");
  eval.add_option("--target", r.target.target,
                  "A model (GGUF file or Hugging Face folder) or an OpenAI-compatible base URL");
  eval.add_option("--task", r.task, "classify, generate or summarize")->capture_default_str();
  eval.add_option("--name", r.name, "Name in reports (default: from the target)");
  eval.add_option("--prompt-template", r.prompt_template,
                  "Prompt with {text} and {labels} placeholders (default per task, see below)");
  eval.add_option("--api-key", r.target.api_key,
                  "URL targets: bearer key (default: $OPENAI_API_KEY)");
  eval.add_option("--model", r.target.model,
                  "URL targets: the \"model\" field (default: left out, for one-model servers)");
  eval.add_option("--api", r.target.api, "URL targets: chat (/chat/completions) or completions")
      ->capture_default_str();
  eval.add_option("--header", r.target.headers,
                  "URL targets: extra request header \"Name: value\" (repeatable)");
  eval.add_flag("--stream", r.target.stream,
                "URL targets: stream answers (SSE) and measure the time to first token");
  eval.add_option("--timeout", r.target.timeout_s, "URL targets: seconds per attempt")
      ->capture_default_str();
  eval.add_option("--retries", r.target.retries,
                  "URL targets: retries on 429/5xx/connection errors")
      ->capture_default_str();
  eval.add_option("--tokenizer", r.target.tokenizer,
                  "Local targets: tokenizer file to use instead");
  eval.add_flag("--chat", r.target.chat,
                "Local targets: wrap prompts in the model's chat template");
  eval.add_option("-t,--threads", r.target.threads,
                  "Local targets: threads in all (default: all cores)");
  eval.add_option("--stop", r.target.stop, "Stop generating at this text (repeatable)");
  eval.add_option("--concurrency", r.concurrency, "Requests in flight at once")
      ->capture_default_str();
  eval.add_option("--warmup", r.warmup, "Unmeasured requests before the run (first rows)")
      ->capture_default_str();
  eval.add_option("--limit", r.limit, "Use only the first N examples (0: all)")
      ->capture_default_str();
  eval.add_option("--max-tokens", r.max_tokens,
                  "Tokens per answer (default: classify 16, else 128)");
  eval.add_option("--price-in", r.price_in, "$ per 1M input tokens");
  eval.add_option("--price-out", r.price_out, "$ per 1M output tokens");
  eval.add_option("--price-hour", r.price_hour, "$ per hour of the machine serving the target");
  eval.add_flag("!--no-stem", r.stem, "summarize: ROUGE without Porter stemming");
  eval.add_option("--out", o->out, "Write the result JSON here (what --compare reads)");
  eval.add_option("--compare", o->compare, "A B: two result files (or targets run on --data)")
      ->expected(2);
  eval.add_option("--requests-per-day", o->cmp.requests_per_day,
                  "--compare: volume for the monthly cost")
      ->capture_default_str();
  eval.add_option("--max-quality-drop", o->cmp.max_quality_drop,
                  "--compare: quality points the cheaper target may lose and still win")
      ->capture_default_str();
  eval.add_option("--max-p99-ms", o->max_p99_ms, "--compare: p99 latency objective (ms)");
  eval.add_option("--md", o->md, "--compare: write the Markdown report here");
  eval.add_option("--html", o->html, "--compare: write the HTML report here");
  eval.add_flag("--json", o->json, "Print JSON instead of the readable summary");
  eval.callback([o, &eval] {
    if (!eval.get_subcommands().empty()) return;  // `eval metrics` ran
    if (o->run.target.api_key.empty())
      if (const char* k = std::getenv(o->api_key_env.c_str())) o->run.target.api_key = k;
    o->run.progress = !o->json;
    if (!o->compare.empty()) {
      RS_CHECK(o->run.target.target.empty(), "--target and --compare do not go together");
      run_compare(*o);
      return;
    }
    RS_CHECK(!o->run.data.empty() && !o->run.target.target.empty(),
             "give --data FILE.jsonl and --target MODEL_OR_URL (or --compare A B, or the "
             "`metrics` subcommand)");
    const json res = run_eval(o->run);
    if (!o->out.empty()) write_file(o->out, dump(res, 2) + "\n");
    if (o->json)
      fmt::print("{}\n", dump(res, 2));
    else
      print_eval_result(res);
  });
}

}  // namespace rs::cli
