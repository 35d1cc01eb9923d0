// rightsize finetune --model BASE --train train.jsonl --out DIR [...]: LoRA fine-tuning on the CPU.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/loader.h"
#include "tokenizer/chat_template.h"
#include "train/finetune.h"

namespace rs::cli {

void register_finetune(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, train, validation, targets = "q_proj,v_proj", chat_template;
    double val_split = 0;
    int threads = 0;
    bool json = false, no_eos = false;
    train::FinetuneOptions ft;
  };
  auto o = std::make_shared<Opts>();
  o->ft.data.max_tokens = 0;
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a LoRA adapter on the CPU");
  cmd->footer(
      "Data (JSON Lines, one example per line):\n"
      "  {\"prompt\": \"...\", \"completion\": \"...\"}      loss on the completion only\n"
      "  {\"messages\": [{\"role\": \"user\", ...}, {\"role\": \"assistant\", ...}]}\n"
      "      rendered with the model's chat template; the last (assistant) message is learned\n"
      "  {\"text\": \"...\", \"label\": \"...\"} with --template 'Message: {text}\\nLabel:'\n"
      "      classification rows; the completion is \" <label>\", and validation also reports\n"
      "      label accuracy (each label scored as a completion)\n"
      "Every completion ends with EOS so the model learns to stop (--no-eos to leave it out).\n"
      "Output in --out: adapter_config.json + adapter_model.safetensors (PEFT layout),\n"
      "adapter.gguf (llama.cpp --lora), train_log.jsonl (loss per step, validation per epoch),\n"
      "checkpoint.safetensors (for --resume).\n"
      "One optimizer step sees --batch x --grad-accum examples; the learning rate warms up\n"
      "linearly over --warmup of the steps, then follows a cosine down to --min-lr-ratio x --lr.\n"
      "Examples:\n"
      "  rightsize finetune -m stories260K.gguf --train train.jsonl --val-split 0.1 \\\n"
      "      --template 'Message: {text}\\nLabel:' --out spam-lora --rank 16 --alpha 32 \\\n"
      "      --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --epochs 2 --lr "
      "2e-3\n"
      "  rightsize finetune -m base.gguf --train chat.jsonl --out my-lora --resume\n"
      "  rightsize run -m stories260K.gguf --lora spam-lora -p $'Message: ...\\nLabel:' -n 3 "
      "--temp 0");
  cmd->add_option("-m,--model", o->model, "Base model: GGUF file or Hugging Face folder")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to use instead (GGUF or tokenizer.json)");
  cmd->add_option("--train", o->train, "Training data (JSON Lines)")->required();
  auto* val_opt = cmd->add_option("--validation", o->validation, "Validation data (JSON Lines)");
  cmd->add_option("--val-split", o->val_split,
                  "Hold out this fraction of --train as validation (seeded)")
      ->excludes(val_opt);
  cmd->add_option("--out", o->ft.out_dir, "Adapter folder to write")->required();
  cmd->add_option("--rank", o->ft.rank, "LoRA rank r")->capture_default_str();
  cmd->add_option("--alpha", o->ft.alpha, "LoRA alpha (scale alpha/r)")->capture_default_str();
  cmd->add_flag("--rslora", o->ft.use_rslora, "rsLoRA scaling alpha/sqrt(r)");
  cmd->add_option(
         "--targets", o->targets,
         "Comma-separated modules: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
      ->capture_default_str();
  cmd->add_option("--epochs", o->ft.epochs, "Passes over the training data")->capture_default_str();
  cmd->add_option("--lr", o->ft.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--batch", o->ft.batch, "Examples per micro-batch")->capture_default_str();
  cmd->add_option("--grad-accum", o->ft.grad_accum, "Micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--seed", o->ft.seed, "Seed for A's initialisation, shuffling and --val-split")
      ->capture_default_str();
  cmd->add_flag("--resume", o->ft.resume,
                "Continue from --out/checkpoint.safetensors (same settings)");
  cmd->add_option("--template", o->ft.data.text_template,
                  "Prompt for {\"text\",\"label\"} rows, with {text}");
  cmd->add_option("--chat-template", o->chat_template,
                  "Chat template name for messages rows (" + chat_format_names() + ")");
  cmd->add_option(
      "--max-tokens", o->ft.data.max_tokens,
      "Truncate examples to this many tokens (default: the model's context, at most 512)");
  cmd->add_flag("--no-eos", o->no_eos, "Do not append EOS to completions");
  cmd->add_option("--warmup", o->ft.warmup, "Fraction of steps for linear warm-up")
      ->capture_default_str();
  cmd->add_option("--min-lr-ratio", o->ft.min_lr_ratio, "Final learning rate as a fraction of --lr")
      ->capture_default_str();
  cmd->add_option("--weight-decay", o->ft.weight_decay, "AdamW decoupled weight decay")
      ->capture_default_str();
  cmd->add_option("--max-grad-norm", o->ft.max_grad_norm, "Clip the gradient norm (0: off)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", o->ft.checkpoint_every,
                  "Steps between checkpoints (0: each epoch)");
  cmd->add_option("--max-steps", o->ft.max_steps,
                  "Stop after this many optimizer steps (0: all epochs)");
  cmd->add_option("--stop-after", o->ft.stop_after,
                  "Pause after this many steps with a checkpoint (continue with --resume)");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print a JSON report at the end");
  cmd->callback([o] {
    RS_CHECK(!o->ft.resume || std::filesystem::exists(std::filesystem::path(o->ft.out_dir) /
                                                      "checkpoint.safetensors"),
             "--resume: no checkpoint in '{}' (checkpoint.safetensors)", o->ft.out_dir);
    auto lm = load_model(o->model, o->tokenizer);
    const Tokenizer& tok = lm.require_tokenizer();
    const HParams& hp = lm.model->hparams();
    train::FinetuneOptions& ft = o->ft;
    ft.targets = lora::parse_targets(o->targets);
    ft.base_model = o->model;
    ft.data.add_eos = !o->no_eos;
    if (ft.data.max_tokens <= 0) ft.data.max_tokens = std::min<int64_t>(hp.n_ctx_train, 512);
    RS_CHECK(ft.data.max_tokens <= hp.n_ctx_train, "--max-tokens {} exceeds the model's context {}",
             ft.data.max_tokens, hp.n_ctx_train);
    if (!o->chat_template.empty() || !lm.chat_template.empty()) {
      ft.data.chat_format = o->chat_template.empty() ? detect_chat_format(lm.chat_template)
                                                     : chat_format_from_name(o->chat_template);
      RS_CHECK(o->chat_template.empty() || ft.data.chat_format,
               "unknown chat template name '{}' (one of: {})", o->chat_template,
               chat_format_names());
    }
    auto base = train::BaseWeights<float>::load(lm.model->source(), hp);
    train::Dataset data = train::load_jsonl(o->train, tok, ft.data);
    train::Dataset val;
    bool have_val = false;
    if (!o->validation.empty()) {
      val = train::load_jsonl(o->validation, tok, ft.data);
      val.labels = data.labels;
      have_val = true;
    } else if (o->val_split > 0) {
      train::split_validation(data, val, o->val_split, ft.seed);
      have_val = true;
    }
    fmt::print(stderr,
               "finetune: {} training examples ({} tokens, {} completion tokens, {} truncated to "
               "{} tokens){}\n",
               data.examples.size(), data.n_tokens, data.n_target_tokens, data.n_truncated,
               ft.data.max_tokens,
               have_val ? fmt::format(", {} validation", val.examples.size()) : "");
    ThreadPool pool(o->threads);
    if (have_val) {
      const auto ev = train::evaluate(base, tok, val, nullptr, ft.data, &pool);
      fmt::print(stderr, "base model: validation loss {:.4f}{}\n", ev.loss,
                 ev.accuracy ? fmt::format(", label accuracy {:.2f}%", *ev.accuracy * 100) : "");
    }
    const auto rep = train::finetune(
        base, tok, data, have_val ? &val : nullptr, ft, &pool, [](const train::EpochReport& e) {
          fmt::print(
              stderr, "epoch {}: train loss {:.4f}{}{}, {:.0f} tokens/s, {:.1f} s\n", e.epoch,
              e.train_loss, e.val_loss ? fmt::format(", validation loss {:.4f}", *e.val_loss) : "",
              e.val_accuracy ? fmt::format(", label accuracy {:.2f}%", *e.val_accuracy * 100) : "",
              e.tokens_per_s, e.seconds);
        });
    if (rep.paused)
      fmt::print(stderr,
                 "finetune: paused after step {}; continue with the same flags and --resume\n",
                 rep.steps);
    fmt::print(
        stderr,
        "finetune: {} steps, {} trainable parameters, {:.1f} s ({:.0f} tokens/s); adapter in {}\n",
        rep.steps, rep.n_params, rep.seconds, rep.seconds > 0 ? rep.tokens / rep.seconds : 0.0,
        ft.out_dir);
    if (o->json) {
      nlohmann::json j;
      j["steps"] = rep.steps;
      j["tokens"] = rep.tokens;
      j["seconds"] = rep.seconds;
      j["n_params"] = rep.n_params;
      j["resumed"] = rep.resumed;
      j["paused"] = rep.paused;
      j["step_loss"] = rep.step_loss;
      j["epochs"] = nlohmann::json::array();
      for (const auto& e : rep.epochs) {
        nlohmann::json ej = {
            {"epoch", e.epoch}, {"train_loss", e.train_loss}, {"tokens_per_s", e.tokens_per_s}};
        if (e.val_loss) ej["val_loss"] = *e.val_loss;
        if (e.val_accuracy) ej["val_accuracy"] = *e.val_accuracy;
        j["epochs"].push_back(ej);
      }
      j["out"] = ft.out_dir;
      fmt::print("{}\n", j.dump());
    }
  });
}

}  // namespace rs::cli
