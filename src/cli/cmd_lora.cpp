// rightsize lora merge | eval: work with LoRA adapters (fine-tuning itself is `rightsize
// finetune`).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "engine/adapters.h"
#include "engine/loader.h"
#include "engine/lora_merge.h"
#include "eval/classification.h"
#include "train/data.h"
#include "train/label_scoring.h"

namespace rs::cli {
namespace {

void add_merge(CLI::App& lora_cmd) {
  struct Opts {
    std::string base, adapter, out, type = "orig";
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd =
      lora_cmd.add_subcommand("merge", "Write a GGUF with the adapter merged into the weights");
  cmd->footer(
      "Each adapted weight becomes W + s*B*A (dequantized, updated in f32, stored as --type);\n"
      "metadata, tokenizer and the other tensors are copied unchanged.\n"
      "Example:\n"
      "  rightsize lora merge stories260K.gguf spam-lora/ stories260K-spam.gguf --type f32");
  cmd->add_option("base", o->base, "Base model (GGUF)")->required();
  cmd->add_option("adapter", o->adapter, "PEFT folder or GGUF LoRA")->required();
  cmd->add_option("out", o->out, "Merged GGUF to write")->required();
  cmd->add_option("--type", o->type,
                  "Type of the merged weights: orig (their original type), f32, f16")
      ->check(CLI::IsMember({"orig", "f32", "f16"}))
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->callback([o] {
    auto model = Model::load(o->base);
    auto ad = load_lora(*model, o->adapter);
    MergeOptions mo;
    mo.type = o->type == "f32"   ? MergeType::F32
              : o->type == "f16" ? MergeType::F16
                                 : MergeType::Original;
    mo.n_threads = o->threads;
    std::unique_ptr<ProgressBar> bar;
    mo.progress = [&](uint64_t done, uint64_t total, const std::string& t) {
      if (!bar) bar = std::make_unique<ProgressBar>("merge", total, "MiB");
      bar->update(done, t);
    };
    const WriteReport r = merge_lora(*model, *ad, o->out, mo);
    if (bar) bar->finish();
    int merged = 0;
    for (const auto& t : r.tensors) merged += t.note == "merged LoRA";
    fmt::print(stderr, "merged {} tensors; wrote {} ({:.2f} MiB) in {:.2f} s\n", merged, o->out,
               static_cast<double>(r.file_bytes) / 1048576.0, r.seconds);
  });
}

void add_eval(CLI::App& lora_cmd) {
  struct Opts {
    std::string model, tokenizer, adapter, data, tmpl = "{text}", labels;
    int64_t max_tokens = 0;
    int threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = lora_cmd.add_subcommand(
      "eval", "Classification accuracy/F1 of a model (+ adapter) by label scoring");
  cmd->footer(
      "For each {\"text\",\"label\"} row the prompt is --template with {text} filled in (the text\n"
      "truncated to --max-tokens as finetune does) and every label is scored as the continuation\n"
      "\" <label>\": the sum of its tokens' log-probabilities under the inference forward pass\n"
      "(with the adapter applied unmerged). The highest-scoring label is the prediction.\n"
      "Example:\n"
      "  rightsize lora eval -m stories260K.gguf --lora spam-lora --data sms_spam/test.jsonl \\\n"
      "      --template $'Message: {text}\\nLabel:' --max-tokens 128");
  cmd->add_option("-m,--model", o->model, "Base model: GGUF file or Hugging Face folder")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to use instead (GGUF or tokenizer.json)");
  cmd->add_option("--lora", o->adapter,
                  "Adapter (PEFT folder or GGUF LoRA); omit for the base model");
  cmd->add_option("--data", o->data, "Labeled data, {\"text\",\"label\"} JSON Lines")->required();
  cmd->add_option("--template", o->tmpl, "Prompt with {text}")->capture_default_str();
  cmd->add_option("--labels", o->labels,
                  "Comma-separated label set (default: the labels in --data)");
  cmd->add_option("--max-tokens", o->max_tokens,
                  "Truncate examples to this many tokens (default: the context)");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] {
    auto lm = load_model(o->model, o->tokenizer, o->adapter);
    const Tokenizer& tok = lm.require_tokenizer();
    const HParams& hp = lm.model->hparams();
    train::DataOptions dopt;
    dopt.text_template = o->tmpl;
    dopt.add_eos = false;
    dopt.max_tokens = o->max_tokens > 0 ? o->max_tokens : std::min<int64_t>(hp.n_ctx_train, 512);
    const train::Dataset data = train::load_jsonl(o->data, tok, dopt);
    std::vector<std::string> labels = data.labels;
    if (!o->labels.empty()) {
      labels.clear();
      for (size_t s = 0; s <= o->labels.size();) {
        const size_t c = std::min(o->labels.find(',', s), o->labels.size());
        labels.push_back(o->labels.substr(s, c - s));
        s = c + 1;
      }
    }
    RS_CHECK(labels.size() >= 2, "need at least two labels to choose from (got {})", labels.size());
    ThreadPool pool(o->threads);
    std::vector<std::string> gold, pred;
    ProgressBar bar("lora eval", data.examples.size(), "rows");
    train::LabelScoreScratch scratch;
    train::LabelScores scores;
    for (const auto& ex : data.examples) {
      RS_CHECK(!ex.label.empty(), "{}:{}: lora eval needs {{\"text\",\"label\"}} rows", o->data,
               ex.line);
      train::score_labels(*lm.model, tok, lm.lora.get(), ex.prompt, labels, &pool, scratch, scores);
      const auto best = std::max_element(scores.log_prob.begin(), scores.log_prob.end()) -
                        scores.log_prob.begin();
      const std::string& choice = labels[static_cast<size_t>(best)];
      gold.push_back(ex.label);
      pred.push_back(choice);
      bar.update(gold.size());
    }
    bar.finish();
    const auto r = eval::classification_report(gold, pred);
    if (o->json) {
      nlohmann::json j = {{"n", r.n},
                          {"accuracy", r.accuracy},
                          {"macro_f1", r.macro.f1},
                          {"truncated", data.n_truncated},
                          {"labels", r.labels}};
      for (const auto& c : r.per_class)
        j["per_class"][c.label] = {{"precision", c.score.precision},
                                   {"recall", c.score.recall},
                                   {"f1", c.score.f1},
                                   {"support", c.support}};
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("{} examples ({} truncated), labels {}\naccuracy  {:.4f}\nmacro-F1  {:.4f}\n", r.n,
               data.n_truncated, fmt::join(r.labels, ","), r.accuracy, r.macro.f1);
    for (const auto& c : r.per_class)
      fmt::print("  {:<10} precision {:.4f} recall {:.4f} f1 {:.4f} support {}\n", c.label,
                 c.score.precision, c.score.recall, c.score.f1, c.support);
  });
}

}  // namespace

void register_lora(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("lora", "LoRA adapters: merge into a GGUF, evaluate as a classifier");
  cmd->require_subcommand(1);
  cmd->footer(
      "Train adapters with `rightsize finetune`; apply one at run time with `rightsize run "
      "--lora`.");
  add_merge(*cmd);
  add_eval(*cmd);
}

}  // namespace rs::cli
