// rightsize tokenize -m MODEL -p TEXT [--json] [--no-special] [--parse-special]
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/loader.h"

namespace rs::cli {

void register_tokenize(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, prompt, file;
    bool json = false, no_special = false, parse_special = false, pieces = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("tokenize", "Turn text into token ids with a model's tokenizer");
  cmd->add_option("-m,--model", o->model, "GGUF model or vocabulary file, or a Hugging Face folder")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to use instead (GGUF or tokenizer.json)");
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "Text to tokenize");
  cmd->add_option("-f,--file", o->file, "Read the text from this file")->excludes(p);
  cmd->add_flag("--json", o->json, "Print {\"ids\":[...]} (with --pieces, also the pieces)");
  cmd->add_flag("--no-special", o->no_special, "Do not add BOS/EOS (or [CLS]/[SEP])");
  cmd->add_flag("--parse-special", o->parse_special, "Recognise special-token text such as <|im_start|>");
  cmd->add_flag("--pieces", o->pieces, "Also show the text of each token");
  cmd->callback([o] {
    std::string text = o->file.empty() ? o->prompt : read_text_file(o->file);
    require_utf8(text, "text");
    std::unique_ptr<Tokenizer> tok;
    if (!o->tokenizer.empty()) tok = load_tokenizer(o->tokenizer);
    else {
      // A vocabulary-only GGUF has no weights: read just the tokenizer from it.
      try {
        tok = load_tokenizer(o->model);
      } catch (const Error&) {
        auto lm = load_model(o->model);
        tok = std::move(lm.tokenizer);
        RS_CHECK(tok, "'{}' carries no tokenizer: pass --tokenizer FILE", o->model);
      }
    }
    const auto ids = tok->encode(text, !o->no_special, o->parse_special);
    if (o->json) {
      nlohmann::json j;
      j["ids"] = ids;
      if (o->pieces) {
        j["pieces"] = nlohmann::json::array();
        for (int32_t id : ids) j["pieces"].push_back(tok->token_to_piece(id, true));
      }
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    for (int32_t id : ids) {
      if (o->pieces) fmt::print("{:>8} {}\n", id, nlohmann::json(tok->token_to_piece(id, true)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      else fmt::print("{}\n", id);
    }
  });
}

}  // namespace rs::cli
