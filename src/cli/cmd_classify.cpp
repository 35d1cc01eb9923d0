// rightsize classify --router ROUTER (--data FILE.jsonl | --text "...") [--json]: intents with
// calibrated confidence, accuracy / macro-F1 when the rows carry labels (in-scope accuracy and
// oos recall/precision when "oos" is among them), and per-query latency percentiles.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "eval/classification.h"
#include "eval/latency.h"
#include "router/intent_classifier.h"
#include "train/labeled_text.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;

struct ClassifyOpts {
  std::string router, data, text;
  bool json = false;
};

void run_classify(const ClassifyOpts& o) {
  RS_CHECK(o.data.empty() != o.text.empty(), "give --data FILE.jsonl or --text \"...\"");
  std::vector<train::LabeledText> rows;
  if (!o.data.empty()) {
    rows = train::read_labeled_jsonl(o.data, false);
    if (train::has_labels(rows))
      for (const auto& r : rows)
        RS_CHECK(!r.label.empty(), "{}:{}: row without \"label\" in a labeled file", o.data,
                 r.line);
  } else {
    require_utf8(o.text, "--text");
    rows.push_back({o.text, "", 0});
  }
  const auto clf = router::IntentClassifier::load(o.router);

  router::IntentClassifier::Scratch scratch;
  clf.classify("warm up the scratch buffers", scratch);
  std::vector<router::Intent> out;
  std::vector<double> ms;
  out.reserve(rows.size());
  ms.reserve(rows.size());
  for (const auto& r : rows) {
    const auto t0 = std::chrono::steady_clock::now();
    out.push_back(clf.classify(r.text, scratch));
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double p50 = eval::percentile(ms, 50), p99 = eval::percentile(ms, 99);

  std::optional<eval::ClassificationReport> rep;
  if (train::has_labels(rows)) {
    std::vector<std::string> gold, pred;
    bool oos = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      gold.push_back(rows[i].label);
      pred.emplace_back(out[i].label);
      oos = oos || rows[i].label == router::kOutOfScope;
    }
    rep = eval::classification_report(
        gold, pred, oos ? std::optional<std::string>(router::kOutOfScope) : std::nullopt);
  }

  if (o.json) {
    json preds = json::array();
    for (const auto& p : out) preds.push_back({{"label", p.label}, {"confidence", p.confidence}});
    json j = {{"predictions", preds}};
    if (rep) {
      j["accuracy"] = rep->accuracy;
      j["macro_f1"] = rep->macro.f1;
      if (rep->oos) {
        j["in_scope_accuracy"] = rep->oos->in_scope_accuracy;
        j["oos_recall"] = rep->oos->score.recall;
        j["oos_precision"] = rep->oos->score.precision;
      }
    }
    j["n"] = rows.size();
    j["p50_ms"] = p50;
    j["p99_ms"] = p99;
    fmt::print("{}\n", j.dump());
    return;
  }
  if (!o.text.empty()) {
    fmt::print("{}  (confidence {:.4f}{})\n", out[0].label, out[0].confidence,
               out[0].out_of_scope ? ", out of scope" : "");
    return;
  }
  const size_t show = std::min<size_t>(rows.size(), 20);
  fmt::print("{:>6}  {:<32} {:>10}  {}\n", "line", "predicted", "confidence", "text");
  for (size_t i = 0; i < show; ++i)
    fmt::print("{:>6}  {:<32} {:>10.4f}  {}\n", rows[i].line, out[i].label, out[i].confidence,
               rows[i].text.substr(0, 60));
  if (show < rows.size()) fmt::print("   ... {} more (--json prints all)\n", rows.size() - show);
  fmt::print("\n{} queries", rows.size());
  if (rep) {
    fmt::print(": accuracy {:.4f}, macro-F1 {:.4f}", rep->accuracy, rep->macro.f1);
    if (rep->oos)
      fmt::print("\nin-scope accuracy {:.4f}, oos recall {:.4f}, oos precision {:.4f}",
                 rep->oos->in_scope_accuracy, rep->oos->score.recall, rep->oos->score.precision);
  }
  fmt::print("\nlatency per query: p50 {:.4f} ms, p99 {:.4f} ms (one thread)\n", p50, p99);
}

}  // namespace

void register_classify(CLI::App& app) {
  auto o = std::make_shared<ClassifyOpts>();
  auto* cmd =
      app.add_subcommand("classify", "Classify text with a trained router (intent + confidence)");
  cmd->footer(
      "Prints each query's intent and calibrated confidence; \"oos\" means out of scope (the oos\n"
      "class won or the confidence is below the router's threshold). With labeled rows\n"
      "{\"text\", \"label\"} it also reports accuracy and macro-F1, and in-scope accuracy plus "
      "oos\n"
      "recall/precision when \"oos\" is a label. p50/p99: per-query time on one thread.\n"
      "Examples:\n"
      "  rightsize classify --router b77.router --data ../shared/datasets/banking77/test.jsonl "
      "--json\n"
      "  rightsize classify --router clinc.router --text \"set an alarm for 7am\"\n"
      "Make a router with rightsize train-router; see docs/router.md.");
  cmd->add_option("--router", o->router, "Router file from train-router")->required();
  cmd->add_option("--data", o->data, "JSON Lines rows {\"text\"[, \"label\"]}");
  cmd->add_option("--text", o->text, "One query");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_classify(*o); });
}

}  // namespace rs::cli
