// rightsize train-router --train TRAIN.jsonl [--validation V.jsonl] --out ROUTER: trains the
// router's intent classifier (router/router_training.h) and writes the router file.
// With --lm MODEL.gguf [--lora ADAPTER] --template T [--labels a,b]: the language-model back end
// (nothing trained; --validation chooses the temperature and threshold).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "router/router_training.h"

namespace rs::cli {
namespace {

using json = nlohmann::ordered_json;

struct TrainRouterOpts {
  std::string train, validation, out, embedder;
  router::RouterTrainOptions t;
  bool json = false, no_refit = false;
};

void run_train_router(TrainRouterOpts& o) {
  const bool lm = !o.t.lm.model.empty();
  RS_CHECK(!o.train.empty() || lm, "--train is required (it is optional only with --lm)");
  RS_CHECK(lm || (o.t.lm.lora.empty() && o.t.labels.empty() && !o.t.lm.length_norm),
           "--lora, --labels and --length-norm belong to the --lm back end");
  RS_CHECK(!lm || o.embedder.empty(), "--lm and --embedder are two back ends: give one");
  std::vector<train::LabeledText> train;
  if (!o.train.empty()) train = train::read_labeled_jsonl(o.train, true);
  std::vector<train::LabeledText> validation;
  if (!o.validation.empty()) validation = train::read_labeled_jsonl(o.validation, true);
  o.t.embedder = o.embedder;
  o.t.refit = !o.no_refit;
  std::unique_ptr<ProgressBar> bar;  // made at the first callback, which knows the total
  o.t.progress = [&](int64_t done, int64_t total) {
    if (!bar)
      bar = std::make_unique<ProgressBar>(lm ? "scoring validation" : "training router",
                                          static_cast<uint64_t>(total), lm ? "rows" : "epochs",
                                          !o.json);
    bar->update(static_cast<uint64_t>(done));
  };
  router::RouterTrainReport rep;
  const router::IntentClassifier clf = router::train_router(train, validation, o.t, &rep);
  if (bar) bar->finish();
  clf.save(o.out);

  const auto& s = rep.heldout_scope;
  const std::string_view backend = router::backend_name(clf.parts().backend);
  const json scope = {{"in_scope_accuracy", s.in_scope_accuracy},
                      {"oos_recall", s.oos_recall},
                      {"oos_precision", s.oos_precision}};
  if (lm) {
    if (o.json) {
      json j = {{"out", o.out},
                {"backend", backend},
                {"classes", rep.n_classes},
                {"labels", clf.labels()},
                {"model", clf.parts().lm.model},
                {"lora", clf.parts().lm.lora},
                {"template", clf.parts().lm.prompt_template},
                {"length_norm", clf.parts().lm.length_norm},
                {"heldout_rows", rep.n_heldout},
                {"temperature", rep.temperature},
                {"threshold", rep.threshold},
                {"seconds", rep.seconds}};
      if (rep.n_heldout > 0) {
        j["heldout_accuracy"] = rep.heldout_accuracy;
        j["heldout_nll"] = {{"t1", rep.heldout_nll_before}, {"calibrated", rep.heldout_nll_after}};
      }
      if (rep.has_oos && rep.n_heldout > 0) j["heldout_scope"] = scope;
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("router: {} labels ({}), language-model back end: {}{}{}\n", rep.n_classes,
               fmt::join(clf.labels(), ","), clf.parts().lm.model,
               clf.parts().lm.lora.empty() ? "" : " + ", clf.parts().lm.lora);
    if (rep.n_heldout > 0)
      fmt::print(
          "validation: {} rows, accuracy {:.4f}; temperature {:.3f} (NLL {:.4f} -> {:.4f}), "
          "oos threshold {:.4f}\n",
          rep.n_heldout, rep.heldout_accuracy, rep.temperature, rep.heldout_nll_before,
          rep.heldout_nll_after, rep.threshold);
    else
      fmt::print("no --validation: temperature 1, oos threshold 0\n");
    fmt::print("wrote {} in {:.1f}s\n", o.out, rep.seconds);
    return;
  }
  if (o.json) {
    json grid = json::array();
    for (const auto& [l2, acc] : rep.grid) grid.push_back({{"l2", l2}, {"heldout_accuracy", acc}});
    json j = {
        {"out", o.out},
        {"backend", backend},
        {"classes", rep.n_classes},
        {"features", rep.n_features},
        {"train_rows", rep.n_train},
        {"heldout_rows", rep.n_heldout},
        {"heldout_from_train", rep.carved},
        {"refit_on_all", o.t.refit},
        {"l2", rep.l2},
        {"grid", grid},
        {"temperature", rep.temperature},
        {"threshold", rep.threshold},
        {"heldout_accuracy", rep.heldout_accuracy},
        {"heldout_nll", {{"t1", rep.heldout_nll_before}, {"calibrated", rep.heldout_nll_after}}},
        {"seconds", rep.seconds}};
    if (rep.has_oos) j["heldout_scope"] = scope;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("router: {} classes{}, {} back end, {} features\n", rep.n_classes,
             rep.has_oos ? " (with oos)" : "", o.embedder.empty() ? "TF-IDF" : "embedding",
             rep.n_features);
  fmt::print("held out: {} rows ({}), trained on {}{}\n", rep.n_heldout,
             rep.carved ? "carved from train" : "--validation", rep.n_train,
             o.t.refit ? ", then refitted on all" : "");
  for (const auto& [l2, acc] : rep.grid)
    fmt::print("  l2 {:<8.1e} held-out accuracy {:.4f}{}\n", l2, acc, l2 == rep.l2 ? "  <-" : "");
  if (o.t.svm)
    fmt::print("  held-out accuracy: softmax {:.4f}, SVM {:.4f}, ensemble {:.4f}; kept {}\n",
               rep.softmax_accuracy, rep.svm_accuracy, rep.ensemble_accuracy,
               rep.head == router::HeadKind::kSoftmax ? "softmax"
               : rep.head == router::HeadKind::kSvm   ? "SVM"
                                                      : "ensemble");
  fmt::print("temperature {:.3f} (held-out NLL {:.4f} -> {:.4f}), oos threshold {:.4f}\n",
             rep.temperature, rep.heldout_nll_before, rep.heldout_nll_after, rep.threshold);
  if (rep.has_oos)
    fmt::print(
        "held out with threshold: in-scope accuracy {:.4f}, oos recall {:.4f}, precision "
        "{:.4f}\n",
        s.in_scope_accuracy, s.oos_recall, s.oos_precision);
  fmt::print("wrote {} in {:.1f}s\n", o.out, rep.seconds);
}

}  // namespace

void register_train_router(CLI::App& app) {
  auto o = std::make_shared<TrainRouterOpts>();
  auto* cmd = app.add_subcommand("train-router",
                                 "Train the router's intent classifier from labeled JSON Lines");
  cmd->footer(
      "Data: JSON Lines rows {\"text\": \"...\", \"label\": \"...\"}. The label \"oos\" marks\n"
      "out-of-scope queries: it is learned as a class, and a confidence threshold (below it a\n"
      "query is out of scope) is chosen on the held-out rows: the lowest that reaches\n"
      "--oos-recall there.\n"
      "Held-out rows: --validation, or a seeded stratified share of --train (--holdout). They\n"
      "choose the L2 strength, the temperature that calibrates the confidence and the threshold;\n"
      "then the classifier is refitted on train + held-out rows (unless --no-refit).\n"
      "Heads: softmax regression (the L2 grid), a one-vs-rest linear SVM and their ensemble;\n"
      "the best held-out accuracy is kept.\n"
      "Back ends: word 1-2-gram + character 2-5-gram TF-IDF (default; microseconds per query) or\n"
      "--embedder BERT.gguf (its sentence embeddings). Never train or tune on test data.\n"
      "Third back end, nothing trained: --lm MODEL.gguf [--lora ADAPTER] --template T scores\n"
      "each label (--labels, or those of --train, which is then optional) as the completion\n"
      "\" <label>\" of T with {text} filled in: the sum of its tokens' log-probabilities\n"
      "(--length-norm: their mean); softmax over the labels is the confidence. --validation\n"
      "rows, if given, choose the temperature and oos threshold (else 1 and 0).\n"
      "Examples:\n"
      "  rightsize train-router --train ../shared/datasets/banking77/train.jsonl --out b77.router\n"
      "  rightsize train-router --train clinc150/train.jsonl --validation "
      "clinc150/validation.jsonl \\\n"
      "      --out clinc.router --json\n"
      "  rightsize train-router --train t.jsonl --embedder bge-small.gguf --out emb.router\n"
      "  rightsize train-router --lm stories260K.gguf --lora spam-lora \\\n"
      "      --template $'Message: {text}\\nLabel:' --labels ham,spam --out spam.router\n"
      "Then: rightsize classify --router clinc.router --text \"what's my balance\"\n"
      "See docs/router.md.");
  cmd->add_option("--train", o->train, "Training rows (JSON Lines); optional with --lm");
  cmd->add_option("--validation", o->validation, "Held-out rows for tuning and calibration");
  cmd->add_option("--out", o->out, "Router file to write")->required();
  cmd->add_option("--embedder", o->embedder,
                  "bert GGUF: classify its embeddings instead of TF-IDF");
  cmd->add_option("--lm", o->t.lm.model,
                  "Generative GGUF: score the labels as completions of --template (no training)");
  cmd->add_option("--lora", o->t.lm.lora, "--lm: LoRA adapter (PEFT folder or GGUF LoRA)");
  cmd->add_option("--template", o->t.lm.prompt_template, "--lm: prompt with {text}")
      ->default_val("Message: {text}\nLabel:")
      ->default_str("'Message: {text}\\nLabel:'");
  cmd->add_option("--labels", o->t.labels,
                  "--lm: comma-separated label set (default: the labels of --train)")
      ->delimiter(',');
  cmd->add_flag("--length-norm", o->t.lm.length_norm,
                "--lm: score a label by its mean token log-probability instead of the sum");
  cmd->add_option("--seed", o->t.seed, "Seed for the hold-out split and SGD order")
      ->capture_default_str();
  cmd->add_option("--epochs", o->t.epochs, "SGD epochs per fit")->capture_default_str();
  cmd->add_option("--l2", o->t.l2_grid, "L2 strengths to try (the best held-out one wins)");
  cmd->add_option("--holdout", o->t.holdout, "Share of --train held out without --validation")
      ->capture_default_str();
  cmd->add_option("--word-ngrams", o->t.features.word_ngram_max, "TF-IDF: word n-grams 1..N")
      ->capture_default_str();
  cmd->add_option("--char-min", o->t.features.char_ngram_min, "TF-IDF: shortest character n-gram")
      ->capture_default_str();
  cmd->add_option("--char-max", o->t.features.char_ngram_max,
                  "TF-IDF: longest character n-gram (0 with --char-min 0: none)")
      ->capture_default_str();
  cmd->add_option("--hash-bits", o->t.features.hash_bits, "TF-IDF: 2^N hash buckets")
      ->capture_default_str();
  cmd->add_option("--learning-rate", o->t.learning_rate, "Initial SGD step")->capture_default_str();
  cmd->add_option("--oos-recall", o->t.oos_recall,
                  "Out-of-scope recall the threshold must reach on the held-out rows")
      ->capture_default_str();
  cmd->add_option("--threads", o->t.threads, "Training threads")->capture_default_str();
  cmd->add_flag("--no-refit", o->no_refit, "Keep the head fitted without the held-out rows");
  cmd->add_flag("--json", o->json, "Print one JSON object (the training report)");
  cmd->callback([o] { run_train_router(*o); });
}

}  // namespace rs::cli
