// rightsize eval ...: measuring quality. `eval` is a group of subcommands; today it holds
// `eval metrics`, which scores a file of outputs against reference files with the metrics of
// src/eval (BLEU and chrF as sacrebleu computes them, ROUGE as ROUGE-1.5.5 does, classification
// accuracy/F1), readable or as --json.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/eval_run.h"
#include "core/error.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "eval/classification.h"
#include "eval/rouge.h"
#include "eval/text.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;

struct MetricsOpts {
  std::string metric, hyp, tokenize = "13a", smooth = "exp", oos_label;
  std::vector<std::string> refs;
  std::optional<double> smooth_value;
  int word_order = 0;
  bool stem = false, lowercase = false, json = false, per_example = false;
};

struct Inputs {
  std::vector<std::string> hyps;
  std::vector<std::vector<std::string>> ref_streams;  // [reference file][line]
};

Inputs read_inputs(const MetricsOpts& o) {
  Inputs in;
  in.hyps = eval::read_lines(o.hyp);
  RS_CHECK(!in.hyps.empty(), "'{}' is empty: give one hypothesis per line", o.hyp);
  for (const auto& path : o.refs) {
    in.ref_streams.push_back(eval::read_lines(path));
    RS_CHECK(in.ref_streams.back().size() == in.hyps.size(),
             "'{}' has {} lines but '{}' has {}: give one reference per hypothesis line", path,
             in.ref_streams.back().size(), o.hyp, in.hyps.size());
  }
  return in;
}

// Flags that only some metrics read: say so instead of silently ignoring them.
void note_unused(const MetricsOpts& o, CLI::App* cmd) {
  auto used = [&](const char* flag) { return cmd->count(flag) > 0; };
  const bool bleu = o.metric == "bleu";
  if (used("--tokenize") && !bleu) fmt::print(stderr, "note: --tokenize applies to bleu only\n");
  if ((used("--smooth") || used("--smooth-value")) && !bleu)
    fmt::print(stderr, "note: --smooth and --smooth-value apply to bleu only\n");
  if (o.stem && o.metric != "rouge") fmt::print(stderr, "note: --stem applies to rouge only\n");
  if (o.lowercase && o.metric != "bleu" && o.metric != "chrf")
    fmt::print(stderr, "note: --lowercase applies to bleu and chrf (rouge always lowercases)\n");
  if (used("--word-order") && o.metric != "chrf")
    fmt::print(stderr, "note: --word-order applies to chrf only\n");
  if (used("--oos-label") && o.metric != "classification")
    fmt::print(stderr, "note: --oos-label applies to classification only\n");
}

void run_bleu(const MetricsOpts& o, const Inputs& in) {
  eval::BleuOptions opt;
  const auto tok = eval::parse_bleu_tokenizer(o.tokenize);
  RS_CHECK(tok, "unknown --tokenize '{}': choose 13a, intl, char or none", o.tokenize);
  const auto smooth = eval::parse_bleu_smooth(o.smooth);
  RS_CHECK(smooth, "unknown --smooth '{}': choose exp, floor, add-k or none", o.smooth);
  opt.tokenize = *tok;
  opt.smooth = *smooth;
  opt.smooth_value = o.smooth_value;
  opt.lowercase = o.lowercase;
  const eval::BleuScore s = eval::corpus_bleu(in.hyps, in.ref_streams, opt);
  const std::string signature = eval::bleu_signature(opt, static_cast<int>(in.ref_streams.size()));
  std::vector<double> sentence;
  if (o.per_example) {
    // Sentence BLEU as sacrebleu's sentence_bleu(): same options, effective order on.
    eval::BleuOptions sopt = opt;
    sopt.effective_order = true;
    std::vector<std::string> refs(in.ref_streams.size());
    for (size_t i = 0; i < in.hyps.size(); ++i) {
      for (size_t k = 0; k < refs.size(); ++k) refs[k] = in.ref_streams[k][i];
      sentence.push_back(eval::sentence_bleu(in.hyps[i], refs, sopt).score);
    }
  }
  const double ratio =
      s.ref_len ? static_cast<double>(s.sys_len) / static_cast<double>(s.ref_len) : 0;
  if (o.json) {
    json j = {{"metric", "bleu"},
              {"score", s.score},
              {"counts", s.counts},
              {"totals", s.totals},
              {"precisions", s.precisions},
              {"bp", s.bp},
              {"sys_len", s.sys_len},
              {"ref_len", s.ref_len},
              {"ratio", ratio},
              {"signature", signature},
              {"n_segments", in.hyps.size()},
              {"n_refs", in.ref_streams.size()}};
    if (o.per_example) j["sentence_bleu"] = sentence;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  std::vector<std::string> precisions;
  for (double p : s.precisions) precisions.push_back(fmt::format("{:.1f}", p));
  fmt::print("BLEU = {:.2f} {} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})\n", s.score,
             fmt::join(precisions, "/"), s.bp, ratio, s.sys_len, s.ref_len);
  fmt::print("signature: {}\n", signature);
  for (size_t i = 0; i < sentence.size(); ++i) fmt::print("{:>6}  {:.4f}\n", i + 1, sentence[i]);
}

void run_chrf(const MetricsOpts& o, const Inputs& in) {
  RS_CHECK(o.word_order == 0 || o.word_order == 2,
           "--word-order must be 0 (chrF) or 2 (chrF++), got {}", o.word_order);
  eval::ChrfOptions opt;
  opt.word_order = o.word_order;
  opt.lowercase = o.lowercase;
  const double score = eval::corpus_chrf(in.hyps, in.ref_streams, opt);
  const std::string signature = eval::chrf_signature(opt, static_cast<int>(in.ref_streams.size()));
  const std::string name = o.word_order ? "chrF2++" : "chrF2";
  std::vector<double> sentence;
  if (o.per_example) {
    std::vector<std::string> refs;
    for (size_t i = 0; i < in.hyps.size(); ++i) {
      refs.clear();
      for (const auto& stream : in.ref_streams)
        if (!stream[i].empty()) refs.push_back(stream[i]);
      sentence.push_back(refs.empty() ? 0.0 : eval::sentence_chrf(in.hyps[i], refs, opt));
    }
  }
  if (o.json) {
    json j = {{"metric", "chrf"},
              {"name", name},
              {"score", score},
              {"char_order", opt.char_order},
              {"word_order", opt.word_order},
              {"beta", opt.beta},
              {"signature", signature},
              {"n_segments", in.hyps.size()},
              {"n_refs", in.ref_streams.size()}};
    if (o.per_example) j["sentence_chrf"] = sentence;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{} = {:.2f}\nsignature: {}\n", name, score, signature);
  for (size_t i = 0; i < sentence.size(); ++i) fmt::print("{:>6}  {:.4f}\n", i + 1, sentence[i]);
}

json prf_json(const eval::RougePRF& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f", s.f}};
}

void run_rouge(const MetricsOpts& o, const Inputs& in) {
  eval::RougeOptions opt;
  opt.stem = o.stem;
  const eval::RougeReport rep = eval::corpus_rouge(in.hyps, in.ref_streams, opt);
  const std::string method = fmt::format(
      "ROUGE-1.5.5 -n 2 -a -f A -p 0.5 -c 95 -r 1000{} (per-example scores rounded to 5 decimals, "
      "averaged over 1000 bootstrap resamples as ROUGE-1.5.5 prints them)",
      o.stem ? " -m" : "");
  if (o.json) {
    json j = {{"metric", "rouge"},
              {"stem", o.stem},
              {"n_examples", in.hyps.size()},
              {"n_refs", in.ref_streams.size()},
              {"method", method}};
    for (size_t m = 0; m < rep.names.size(); ++m) {
      const eval::RougeAverage& a = rep.averages[m];
      json r = prf_json(a.average);
      r["ci95"] = {{"precision", {a.ci_low.precision, a.ci_high.precision}},
                   {"recall", {a.ci_low.recall, a.ci_high.recall}},
                   {"f", {a.ci_low.f, a.ci_high.f}}};
      r["mean"] = prf_json(a.mean);
      j[rep.names[m]] = r;
    }
    if (o.per_example) {
      json rows = json::array();
      for (size_t i = 0; i < in.hyps.size(); ++i) {
        json row;
        for (size_t m = 0; m < rep.names.size(); ++m)
          row[rep.names[m]] = prf_json(rep.per_example[m][i]);
        rows.push_back(row);
      }
      j["per_example"] = rows;
    }
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{} examples, {} reference(s) each{}\n", in.hyps.size(), in.ref_streams.size(),
             o.stem ? ", Porter stemming" : "");
  fmt::print("{:<8} {:>9} {:>9} {:>9}   {}\n", "", "precision", "recall", "f", "95% CI of f");
  for (size_t m = 0; m < rep.names.size(); ++m) {
    const eval::RougeAverage& a = rep.averages[m];
    fmt::print("{:<8} {:>9.5f} {:>9.5f} {:>9.5f}   {:.5f} - {:.5f}\n", rep.names[m],
               a.average.precision, a.average.recall, a.average.f, a.ci_low.f, a.ci_high.f);
  }
  if (o.per_example) {
    fmt::print("\n{:>6}", "line");
    for (const auto& name : rep.names) fmt::print(" {:>9}", name + ".f");
    fmt::print("\n");
    for (size_t i = 0; i < in.hyps.size(); ++i) {
      fmt::print("{:>6}", i + 1);
      for (size_t m = 0; m < rep.names.size(); ++m)
        fmt::print(" {:>9.5f}", rep.per_example[m][i].f);
      fmt::print("\n");
    }
  }
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

json prf1_json(const eval::PRF1& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}};
}

void run_classification(const MetricsOpts& o, const Inputs& in) {
  RS_CHECK(in.ref_streams.size() == 1,
           "classification takes one --ref file of gold labels (got {})", in.ref_streams.size());
  std::vector<std::string> pred, gold;
  for (size_t i = 0; i < in.hyps.size(); ++i) {
    pred.push_back(trim(in.hyps[i]));
    gold.push_back(trim(in.ref_streams[0][i]));
    RS_CHECK(!gold.back().empty(), "'{}' line {}: empty gold label", o.refs[0], i + 1);
  }
  std::optional<std::string> oos;
  if (!o.oos_label.empty()) oos = o.oos_label;
  const eval::ClassificationReport r = eval::classification_report(gold, pred, oos);
  if (o.json) {
    json j = {{"metric", "classification"},  {"n", r.n},
              {"accuracy", r.accuracy},      {"micro", prf1_json(r.micro)},
              {"macro", prf1_json(r.macro)}, {"weighted", prf1_json(r.weighted)},
              {"labels", r.labels},          {"confusion", r.confusion}};
    json per = json::array();
    for (const auto& c : r.per_class) {
      json e = prf1_json(c.score);
      e["label"] = c.label;
      e["support"] = c.support;
      e["predicted"] = c.predicted;
      per.push_back(e);
    }
    j["per_class"] = per;
    if (r.oos) {
      json e = prf1_json(r.oos->score);
      e["label"] = r.oos->label;
      e["support"] = r.oos->support;
      e["in_scope_accuracy"] = r.oos->in_scope_accuracy;
      e["in_scope_support"] = r.oos->in_scope_support;
      j["oos"] = e;
    }
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("{} examples, {} labels\naccuracy  {:.4f}\n", r.n, r.labels.size(), r.accuracy);
  fmt::print("{:<10} {:>9} {:>9} {:>9}\n", "", "precision", "recall", "f1");
  const std::pair<const char*, const eval::PRF1*> avgs[] = {
      {"micro", &r.micro}, {"macro", &r.macro}, {"weighted", &r.weighted}};
  for (const auto& [name, s] : avgs)
    fmt::print("{:<10} {:>9.4f} {:>9.4f} {:>9.4f}\n", name, s->precision, s->recall, s->f1);
  if (r.oos)
    fmt::print(
        "out-of-scope '{}': precision {:.4f} recall {:.4f} f1 {:.4f}; in-scope accuracy {:.4f}\n",
        r.oos->label, r.oos->score.precision, r.oos->score.recall, r.oos->score.f1,
        r.oos->in_scope_accuracy);
  size_t width = 5;
  for (const auto& l : r.labels) width = std::max(width, l.size());
  fmt::print("\n{:<{}} {:>9} {:>9} {:>9} {:>8}\n", "label", width, "precision", "recall", "f1",
             "support");
  for (const auto& c : r.per_class)
    fmt::print("{:<{}} {:>9.4f} {:>9.4f} {:>9.4f} {:>8}\n", c.label, width, c.score.precision,
               c.score.recall, c.score.f1, c.support);
  if (r.labels.size() <= 12) {
    fmt::print("\nconfusion (rows gold, columns predicted, in label order)\n");
    for (size_t g = 0; g < r.labels.size(); ++g)
      fmt::print("{:<{}} {}\n", r.labels[g], width, fmt::join(r.confusion[g], " "));
  }
}

void register_eval_metrics(CLI::App& eval) {
  auto o = std::make_shared<MetricsOpts>();
  auto* cmd = eval.add_subcommand(
      "metrics", "Score hypotheses against references: BLEU, chrF, ROUGE or classification");
  cmd->footer(
      "Files have one segment per line (UTF-8; a \\r before \\n is dropped). Each --ref file "
      "holds\n"
      "one reference per hypothesis line; give --ref several times for several references.\n"
      "  bleu    sacrebleu's corpus BLEU (default 13a tokenizer, exp smoothing); --per-example "
      "adds\n"
      "          sentence BLEU (effective order) per line\n"
      "  chrf    sacrebleu's chrF (character 6-grams, beta 2); --word-order 2 gives chrF++\n"
      "  rouge   ROUGE-1/2/L as ROUGE-1.5.5 -n 2 -a -f A [-m] prints them: per line scores rounded "
      "to\n"
      "          5 decimals, averages = bootstrap means; --stem = ROUGE-1.5.5's Porter stemmer "
      "(-m)\n"
      "  classification  --hyp = predicted labels, --ref = gold labels: accuracy, micro/macro/\n"
      "          weighted F1, per-class scores, confusion; --oos-label for out-of-scope detection\n"
      "Examples:\n"
      "  rightsize eval metrics --metric bleu --hyp out.txt --ref ref.txt\n"
      "  rightsize eval metrics --metric bleu --hyp out.txt --ref r1.txt --ref r2.txt --tokenize "
      "intl "
      "--json\n"
      "  rightsize eval metrics --metric rouge --hyp summaries.txt --ref gold.txt --stem --json\n"
      "  rightsize eval metrics --metric chrf --hyp out.txt --ref ref.txt --word-order 2\n"
      "  rightsize eval metrics --metric classification --hyp pred.txt --ref gold.txt --oos-label "
      "oos");
  cmd->add_option("--metric", o->metric, "bleu, rouge, chrf or classification")->required();
  cmd->add_option("--hyp", o->hyp, "Hypotheses (or predicted labels), one per line")->required();
  cmd->add_option("--ref", o->refs, "References (or gold labels), one per line; repeatable")
      ->required();
  cmd->add_option("--tokenize", o->tokenize, "BLEU tokenizer: 13a (default), intl, char, none");
  cmd->add_option("--smooth", o->smooth, "BLEU smoothing: exp (default), floor, add-k, none");
  cmd->add_option("--smooth-value", o->smooth_value,
                  "Value for floor (default 0.1) or add-k (default 1)");
  cmd->add_flag("--lowercase", o->lowercase, "Case-insensitive BLEU/chrF");
  cmd->add_flag("--stem", o->stem, "ROUGE with ROUGE-1.5.5's Porter stemmer (-m)");
  cmd->add_option("--word-order", o->word_order, "chrF word n-gram order: 0 (chrF) or 2 (chrF++)");
  cmd->add_option("--oos-label", o->oos_label,
                  "Classification: the out-of-scope label (e.g. oos) to report separately");
  cmd->add_flag("--per-example", o->per_example, "Also give the score of every line");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o, cmd] {
    const bool known = o->metric == "bleu" || o->metric == "rouge" || o->metric == "chrf" ||
                       o->metric == "classification";
    RS_CHECK(known, "unknown --metric '{}': choose bleu, rouge, chrf or classification", o->metric);
    note_unused(*o, cmd);
    const Inputs in = read_inputs(*o);
    if (o->metric == "bleu")
      run_bleu(*o, in);
    else if (o->metric == "chrf")
      run_chrf(*o, in);
    else if (o->metric == "rouge")
      run_rouge(*o, in);
    else
      run_classification(*o, in);
  });
}

constexpr const char* kEvalFooter =
    "Tasks and data (JSON Lines, one example a line):\n"
    "  classify   {\"text\", \"label\"}: the model is asked for a label from the data's label "
    "set;\n"
    "             its answer is normalised (lowercase, punctuation to spaces) and matched: first\n"
    "             line equal to a label, else the earliest label named in it, else wrong.\n"
    "             Quality: accuracy and macro-F1.\n"
    "  summarize  {\"text\", \"references\": [...]}: ROUGE-1/2/L F as ROUGE-1.5.5 (stemmed).\n"
    "  generate   {\"prompt\" or \"text\", optional \"references\"}: chrF and BLEU when given.\n"
    "Default prompt templates ({text}, {labels}; --prompt-template to change):\n"
    "  classify   \"Classify the text into exactly one of these labels: {labels}\\n\\nText: "
    "{text}\\nLabel:\"\n"
    "  summarize  \"Summarize the following dialogue in one or two sentences.\\n\\n{text}\\n\\n"
    "Summary:\"\n"
    "Answers are greedy (temperature 0). Latency is per request, end to end, as the caller sees\n"
    "it; p50/p90/p99 interpolate between ranks like numpy. Throughput = completed requests per\n"
    "wall-clock second at --concurrency. Cost per request = tokens x --price-in/--price-out ($\n"
    "per 1M tokens) + --price-hour / 3600 / requests per second.\n"
    "--compare A B writes the decision report (Markdown, and HTML with charts via --html):\n"
    "quality, p50/p99, throughput, cost per request and per month at --requests-per-day, and a\n"
    "recommendation: the cheaper target unless it loses more than --max-quality-drop points.\n"
    "Examples:\n"
    "  rightsize eval --data sms_spam/test.jsonl --target model.gguf --task classify --limit 200 "
    "\\\n"
    "      --price-hour 0.10 --out local.json\n"
    "  rightsize eval --data sms_spam/test.jsonl --target https://api.openai.com/v1 --model "
    "gpt-4o-mini "
    "\\\n"
    "      --price-in 0.15 --price-out 0.60 --concurrency 8 --out llm.json\n"
    "  rightsize eval --compare local.json llm.json --requests-per-day 50000 --html report.html\n"
    "  rightsize eval --data dialogsum/test.jsonl --target http://127.0.0.1:8080 --api completions "
    "\\\n"
    "      --task summarize --max-tokens 64 --json\n"
    "  rightsize eval metrics --help   (score existing output files)";

}  // namespace

void register_eval(CLI::App& app) {
  auto* eval = app.add_subcommand(
      "eval",
      "Measure a model or server on a data set (quality, latency, throughput, cost), compare two "
      "runs, or score files (`eval metrics`)");
  eval->footer(kEvalFooter);
  // Either `eval metrics ...` or eval's own options (eval_main.cpp): a run or a comparison.
  eval->require_subcommand(0, 1);
  register_eval_metrics(*eval);
  register_eval_run(*eval);
}

}  // namespace rs::cli
