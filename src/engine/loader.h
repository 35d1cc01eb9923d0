// Loading what a command needs to turn text into text: the model plus its tokenizer and chat
// template, found in the GGUF metadata, in the Hugging Face folder (tokenizer.json), or in a file
// the user names with --tokenizer.
#pragma once

#include <memory>
#include <string>

#include "model/lora.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace rs {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when none was found (token ids still work)
  std::string chat_template;             // raw tokenizer.chat_template, "" when absent
  std::string path;
  std::shared_ptr<const LoraAdapter> lora;  // --lora: applied to every sequence of this model

  // The tokenizer, or rs::Error telling the user how to supply one.
  const Tokenizer& require_tokenizer() const;
};

// tokenizer_path: optional GGUF (tokenizer.ggml.* metadata; a vocab-only file works) or
// tokenizer.json that overrides what the model carries.
// lora_path: optional PEFT folder or GGUF LoRA bound to the model (see engine/adapters.h).
LoadedModel load_model(const std::string& path, const std::string& tokenizer_path = "",
                       const std::string& lora_path = "");

// A tokenizer alone, from a GGUF file or a tokenizer.json.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace rs
