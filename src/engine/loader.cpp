#include "engine/loader.h"

#include <filesystem>

#include "core/error.h"
#include "engine/adapters.h"
#include "formats/gguf.h"

namespace rs {

namespace fs = std::filesystem;

const Tokenizer& LoadedModel::require_tokenizer() const {
  RS_CHECK(tokenizer,
           "'{}' carries no tokenizer: pass --tokenizer FILE (a GGUF with tokenizer "
           "metadata, or a tokenizer.json), or give token ids with --ids",
           path);
  return *tokenizer;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  RS_CHECK(fs::exists(path, ec), "tokenizer file '{}' not found", path);
  if (fs::path(path).extension() == ".json") return Tokenizer::from_hf_json(path);
  auto file = gguf::File::open(path);
  RS_CHECK(file->find("tokenizer.ggml.model"), "'{}' has no tokenizer metadata (tokenizer.ggml.*)",
           path);
  return Tokenizer::from_gguf(*file);
}

LoadedModel load_model(const std::string& path, const std::string& tokenizer_path,
                       const std::string& lora_path) {
  LoadedModel lm;
  lm.path = path;
  lm.model = Model::load(path);
  const gguf::File* meta = lm.model->source().gguf();
  if (!tokenizer_path.empty()) {
    lm.tokenizer = load_tokenizer(tokenizer_path);
  } else if (meta && meta->find("tokenizer.ggml.model")) {
    lm.tokenizer = Tokenizer::from_gguf(*meta);
  } else if (!meta) {
    const fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
    if (fs::exists(dir / "tokenizer.json"))
      lm.tokenizer = Tokenizer::from_hf_json((dir / "tokenizer.json").string());
  }
  if (meta) lm.chat_template = meta->get_string("tokenizer.chat_template").value_or("");
  if (!lora_path.empty()) lm.lora = load_lora(*lm.model, lora_path);
  if (lm.tokenizer) {
    RS_CHECK(lm.tokenizer->n_vocab() <= lm.model->hparams().n_vocab,
             "the tokenizer has {} tokens but the model only {}: they do not belong together",
             lm.tokenizer->n_vocab(), lm.model->hparams().n_vocab);
  }
  return lm;
}

}  // namespace rs
