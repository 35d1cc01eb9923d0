// rightsize run -m MODEL -p PROMPT [-n N] [--temp T ...]: stream a continuation, then print the
// prompt and generation speed (or one JSON object with --json).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/generate.h"
#include "tokenizer/chat_template.h"

namespace rs::cli {

void register_run(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, lora, prompt, file, ids, system, chat_template;
    bool chat = false, json = false, no_special = false, ignore_eos = false;
    int threads = 0;
    GenerateOptions gen;
  };
  auto o = std::make_shared<Opts>();
  o->gen.n_predict = 128;
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt");
  cmd->footer(
      "Examples:\n"
      "  rightsize run -m model.gguf -p \"Once upon a time\" -n 64\n"
      "  rightsize run -m model.gguf -p \"Classify: ...\" --temp 0 --json\n"
      "  rightsize run -m qwen.gguf --chat -p \"What is 2+2?\" --system \"Be brief.\"\n"
      "  rightsize run -m model.gguf --ids 1,403,407 -n 16 --temp 0\n"
      "  rightsize run -m stories260K.gguf --lora my-adapter/ -p \"Message: hi\\nLabel:\" -n 3 "
      "--temp 0\n"
      "Sampling defaults: --temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05; --temp 0 is greedy.");
  cmd->add_option("-m,--model", o->model, "GGUF file or Hugging Face folder")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to use instead (GGUF or tokenizer.json)");
  cmd->add_option("--lora", o->lora,
                  "LoRA adapter applied without merging: a PEFT folder (adapter_config.json + "
                  "adapter_model.safetensors) or a GGUF LoRA file");
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "Prompt text");
  auto* f = cmd->add_option("-f,--file", o->file, "Read the prompt from this file")->excludes(p);
  cmd->add_option("--ids", o->ids, "Prompt as token ids (1,2,3) instead of text")
      ->excludes(p)
      ->excludes(f);
  cmd->add_option("-n,--n-predict", o->gen.n_predict, "Tokens to generate (-1: until end of text)")
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", o->gen.n_ctx, "Context size (default: the model's)");
  add_kv_type_option(*cmd, o->gen.kv_type);
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_option("--temp", o->gen.sampling.temperature, "Temperature; 0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", o->gen.sampling.top_k, "Top-k (0 = off)")->capture_default_str();
  cmd->add_option("--top-p", o->gen.sampling.top_p, "Top-p / nucleus (1 = off)")
      ->capture_default_str();
  cmd->add_option("--min-p", o->gen.sampling.min_p, "Min-p (0 = off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", o->gen.sampling.repeat_penalty,
                  "Repetition penalty (1 = off)")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", o->gen.sampling.repeat_last_n,
                  "Tokens the penalties look back over")
      ->capture_default_str();
  cmd->add_option("--frequency-penalty", o->gen.sampling.frequency_penalty,
                  "OpenAI frequency penalty");
  cmd->add_option("--presence-penalty", o->gen.sampling.presence_penalty,
                  "OpenAI presence penalty");
  cmd->add_option("--seed", o->gen.sampling.seed, "Random seed (default: random)");
  cmd->add_option("--stop", o->gen.stop, "Stop when this text appears (repeatable)");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-text tokens");
  cmd->add_flag("--chat", o->chat,
                "Wrap the prompt as a user message in the model's chat template");
  cmd->add_option("--system", o->system, "System message (with --chat)");
  cmd->add_option(
      "--chat-template", o->chat_template,
      "Chat template by name when the model's is unknown (" + chat_format_names() + ")");
  cmd->add_flag("--no-special", o->no_special, "Do not add BOS/EOS to the prompt");
  cmd->add_flag("--json", o->json, "Print one JSON object at the end instead of streaming");
  cmd->callback([o] {
    auto lm = load_model(o->model, o->tokenizer, o->lora);
    std::vector<int32_t> prompt;
    if (!o->ids.empty()) {
      prompt = parse_ids(o->ids);
    } else {
      std::string text = o->file.empty() ? o->prompt : read_text_file(o->file);
      require_utf8(text, "prompt");
      const Tokenizer& tok = lm.require_tokenizer();
      bool parse_special = false;
      if (o->chat || !o->chat_template.empty()) {
        std::optional<ChatFormat> fmt_ = o->chat_template.empty()
                                             ? detect_chat_format(lm.chat_template)
                                             : chat_format_from_name(o->chat_template);
        RS_CHECK(fmt_, "{}; pass --chat-template NAME (one of: {})",
                 o->chat_template.empty()
                     ? (lm.chat_template.empty()
                            ? "the model has no chat template"
                            : "the model's chat template is not one rightsize knows")
                     : "unknown chat template name '" + o->chat_template + "'",
                 chat_format_names());
        std::vector<ChatMessage> msgs;
        if (!o->system.empty()) msgs.push_back({"system", o->system});
        msgs.push_back({"user", text});
        text = apply_chat_template(*fmt_, msgs, /*add_generation_prompt=*/true);
        parse_special = true;
      }
      prompt = tok.encode(text, !o->no_special, parse_special);
    }
    if (o->ignore_eos) o->gen.stop_at_eog = false;
    ThreadPool pool(o->threads);
    TokenCallback stream;
    if (!o->json)
      stream = [](int32_t, std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      };
    const GenerateResult r = generate(lm, prompt, o->gen, &pool, stream);
    if (o->json) {
      nlohmann::json j;
      j["prompt_ids"] = r.prompt_ids;
      j["ids"] = r.ids;
      j["text"] = r.text;
      j["finish_reason"] = r.finish_reason;
      j["n_prompt_tokens"] = r.prompt_ids.size();
      j["n_generated_tokens"] = r.ids.size();
      j["prompt_ms"] = r.prompt_ms;
      j["gen_ms"] = r.gen_ms;
      j["prompt_tokens_per_s"] = r.prompt_tokens_per_s();
      j["gen_tokens_per_s"] = r.gen_tokens_per_s();
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    fmt::print("\n");
    fmt::print(stderr,
               "\nprompt: {} tokens in {:.1f} ms ({:.1f} tokens/s)\ngeneration: {} tokens in "
               "{:.1f} ms ({:.1f} tokens/s), finish: {}\n",
               r.prompt_ids.size(), r.prompt_ms, r.prompt_tokens_per_s(), r.ids.size(), r.gen_ms,
               r.gen_tokens_per_s(), r.finish_reason);
  });
}

}  // namespace rs::cli
