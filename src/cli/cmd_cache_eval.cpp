// rightsize cache-eval: how precise the semantic cache is on a labeled data set. The cache is
// filled with the --fill rows (as if they had been asked before: each entry's answer is its
// intent), then every query of --data looks up its nearest entry with the same representation
// and index the server uses (the router's TF-IDF row or embedding; cache/semantic_index.h). A
// hit is right when the entry's intent equals the query's label.
//
// The threshold is chosen on --validation (never on --data): the lowest similarity (with at
// least 30 hits) at which the share of wrong hits stays at or below --max-wrong. Two scopings are
// reported: one scope for every entry (similarity alone decides; what a route serving many intents
// sees) and one scope per predicted intent (a route per intent).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>

#include "cache/semantic_index.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "router/intent_classifier.h"
#include "train/labeled_text.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;

struct CacheEvalOpts {
  std::string router, fill, validation, data;
  // CLINC150 itself has mislabeled duplicates (validation rows whose exact text is in train
  // under another intent), which puts a floor of ~2% under the wrong-hit rate of any threshold.
  double max_wrong = 0.03;
  double threshold = 0;  // 0: choose on validation
  bool json = false;
};

// The best entry of each query: its similarity and whether its intent is the query's label.
struct Nearest {
  float similarity = -1;
  bool right = false;
};

constexpr size_t kMinHits = 30;

struct Rates {
  double hit_rate = 0, wrong_hit_rate = 0;
  size_t hits = 0, wrong = 0, n = 0;
};

Rates rates(const std::vector<Nearest>& v, double threshold) {
  Rates r;
  r.n = v.size();
  for (const Nearest& x : v)
    if (x.similarity >= threshold) {
      ++r.hits;
      r.wrong += !x.right;
    }
  r.hit_rate = r.n ? static_cast<double>(r.hits) / static_cast<double>(r.n) : 0;
  r.wrong_hit_rate = r.hits ? static_cast<double>(r.wrong) / static_cast<double>(r.hits) : 0;
  return r;
}

json to_json(const Rates& r) {
  return {{"queries", r.n},
          {"hits", r.hits},
          {"wrong_hits", r.wrong},
          {"hit_rate", r.hit_rate},
          {"wrong_hit_rate", r.wrong_hit_rate}};
}

struct Evaluator {
  const router::IntentClassifier& clf;
  router::IntentClassifier::Scratch scratch;
  cache::SemanticIndex index;
  std::vector<std::string> label_of;  // entry key (its number) -> intent

  cache::Embedding represent(const std::string& text, std::string* predicted) {
    const router::Intent in = clf.classify(text, scratch);
    if (predicted) *predicted = std::string(in.label);
    return clf.representation(scratch);
  }

  void fill(const std::vector<train::LabeledText>& rows) {
    ProgressBar bar("fill", rows.size(), "rows");
    for (const auto& r : rows) {
      std::string predicted;
      cache::Embedding e = represent(r.text, &predicted);
      const std::string key = std::to_string(label_of.size());
      label_of.push_back(r.label);
      index.add(key, {"all", "", ""}, e, 0);
      index.add(key + "/intent", {predicted, "", ""}, std::move(e), 0);
      bar.update(label_of.size());
    }
    bar.finish();
  }

  // Nearest entries of each row in both scopings.
  std::pair<std::vector<Nearest>, std::vector<Nearest>> query(
      const std::vector<train::LabeledText>& rows, const char* what) {
    std::vector<Nearest> single, routed;
    ProgressBar bar(what, rows.size(), "rows");
    for (const auto& r : rows) {
      std::string predicted;
      const cache::Embedding q = represent(r.text, &predicted);
      auto best = [&](const cache::Scope& s) {
        Nearest n;
        const auto found = index.search(s, q, 0.0f, 0, 1);
        if (!found.empty()) {
          const std::string& key = found[0].first;
          n.similarity = found[0].second;
          n.right = label_of[std::stoul(key.substr(0, key.find('/')))] == r.label;
        }
        return n;
      };
      single.push_back(best({"all", "", ""}));
      routed.push_back(best({predicted, "", ""}));
      bar.update(single.size());
    }
    bar.finish();
    return {single, routed};
  }
};

void run_cache_eval(const CacheEvalOpts& o) {
  RS_CHECK(o.max_wrong > 0 && o.max_wrong < 1, "--max-wrong must be in (0, 1)");
  RS_CHECK(o.threshold > 0 || !o.validation.empty(),
           "give --validation FILE.jsonl to choose the threshold, or --threshold T");
  const auto clf = router::IntentClassifier::load(o.router);
  RS_CHECK(clf.parts().backend != router::Backend::kLanguageModel,
           "the router's language-model back end has no vector to compare; the semantic cache "
           "then needs cache.embedder (a bert model)");
  auto read = [](const std::string& path) {
    auto rows = train::read_labeled_jsonl(path, false);
    for (const auto& r : rows)
      RS_CHECK(!r.label.empty(), "{}:{}: every row needs a \"label\"", path, r.line);
    return rows;
  };
  Evaluator ev{clf, {}, {}, {}};
  ev.fill(read(o.fill));

  double threshold = o.threshold;
  json sweep = json::array();
  if (!o.validation.empty()) {
    const auto [single, routed] = ev.query(read(o.validation), "validation");
    double chosen = 0;
    for (int t = 99; t >= 30; --t) {  // lowest threshold that keeps wrong hits within the bound
      const Rates r = rates(single, t / 100.0);
      sweep.push_back({{"threshold", t / 100.0},
                       {"one_scope", to_json(r)},
                       {"scope_per_intent", to_json(rates(routed, t / 100.0))}});
      // Too few hits say nothing about the rate (a couple of mislabeled duplicates at the top).
      if (r.hits >= kMinHits && r.wrong_hit_rate <= o.max_wrong) chosen = t / 100.0;
    }
    RS_CHECK(chosen > 0 || threshold > 0,
             "no threshold keeps the wrong-hit rate at or below {} on the validation rows",
             o.max_wrong);
    if (threshold <= 0) threshold = chosen;
  }
  const auto [single, routed] = ev.query(read(o.data), "test");
  const Rates one = rates(single, threshold), per = rates(routed, threshold);
  if (o.json) {
    fmt::print("{}\n", json{{"threshold", threshold},
                            {"max_wrong", o.max_wrong},
                            {"entries", ev.label_of.size()},
                            {"one_scope", to_json(one)},
                            {"scope_per_intent", to_json(per)},
                            {"validation_sweep", sweep}}
                           .dump());
    return;
  }
  if (!sweep.empty()) {
    fmt::print(
        "validation ({} rows): threshold, hit rate, wrong-hit rate (one scope | per intent)\n",
        sweep[0]["one_scope"]["queries"].get<size_t>());
    for (const auto& s : sweep)
      fmt::print("  {:.2f}  {:6.2f}%  {:6.2f}%   |  {:6.2f}%  {:6.2f}%\n",
                 s["threshold"].get<double>(), 100 * s["one_scope"]["hit_rate"].get<double>(),
                 100 * s["one_scope"]["wrong_hit_rate"].get<double>(),
                 100 * s["scope_per_intent"]["hit_rate"].get<double>(),
                 100 * s["scope_per_intent"]["wrong_hit_rate"].get<double>());
  }
  fmt::print("threshold {:.2f} ({}), cache of {} entries, {} test queries:\n", threshold,
             o.threshold > 0
                 ? "given"
                 : fmt::format("chosen on validation: wrong hits <= {}%", 100 * o.max_wrong),
             ev.label_of.size(), one.n);
  fmt::print("  one scope:        hit rate {:.2f}%, wrong-hit rate {:.2f}% ({} of {} hits)\n",
             100 * one.hit_rate, 100 * one.wrong_hit_rate, one.wrong, one.hits);
  fmt::print("  scope per intent: hit rate {:.2f}%, wrong-hit rate {:.2f}% ({} of {} hits)\n",
             100 * per.hit_rate, 100 * per.wrong_hit_rate, per.wrong, per.hits);
}

}  // namespace

void register_cache_eval(CLI::App& app) {
  auto o = std::make_shared<CacheEvalOpts>();
  auto* cmd = app.add_subcommand(
      "cache-eval", "Measure the semantic cache's hit rate and wrong hits on labeled paraphrases");
  cmd->footer(
      "Fills a cache with the --fill rows (each answer = its intent), looks up every --data row\n"
      "and counts hits (nearest entry at or above the threshold) and wrong hits (an entry of\n"
      "another intent). The threshold is chosen on --validation: the lowest (with 30+ hits)\n"
      "that keeps wrong hits at or below --max-wrong. Use the result as cache.similarity "
      "(docs/cache.md).\n"
      "Example (CLINC150):\n"
      "  rightsize cache-eval --router clinc.router --fill ../shared/datasets/clinc150/train.jsonl "
      "\\\n"
      "    --validation ../shared/datasets/clinc150/validation.jsonl \\\n"
      "    --data ../shared/datasets/clinc150/test.jsonl");
  cmd->add_option("--router", o->router, "Router file from train-router")->required();
  cmd->add_option("--fill", o->fill, "Labeled rows the cache holds")->required();
  cmd->add_option("--validation", o->validation, "Labeled rows to choose the threshold on");
  cmd->add_option("--data", o->data, "Labeled rows to measure on")->required();
  cmd->add_option("--max-wrong", o->max_wrong, "Largest share of wrong hits allowed (0.03)");
  cmd->add_option("--threshold", o->threshold, "Use this similarity instead of choosing one");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_cache_eval(*o); });
}

}  // namespace rs::cli
