// rightsize embed -m MODEL -p TEXT [--json]: pooled, L2-normalized sentence embedding.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/loader.h"

namespace rs::cli {

void register_embed(CLI::App& app) {
  struct Opts {
    std::string model, tokenizer, prompt, file;
    int threads = 0;
    bool json = false, raw = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("embed", "Embed text with an encoder model (bert): pooled and L2-normalized");
  cmd->add_option("-m,--model", o->model, "GGUF embedding model (e.g. bge-small, all-MiniLM)")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to use instead (GGUF or tokenizer.json)");
  auto* p = cmd->add_option("-p,--prompt", o->prompt, "Text to embed");
  cmd->add_option("-f,--file", o->file, "Read the text from this file")->excludes(p);
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print {\"embedding\":[...]}");
  cmd->add_flag("--raw", o->raw, "Also give the pooled vector before normalization");
  cmd->callback([o] {
    std::string text = o->file.empty() ? o->prompt : read_text_file(o->file);
    require_utf8(text, "text");
    auto lm = load_model(o->model, o->tokenizer);
    RS_CHECK(!lm.model->hparams().generative(),
             "'{}' is a generative model ({}); embed needs an encoder such as bert", o->model,
             lm.model->hparams().arch->name);
    const auto ids = lm.require_tokenizer().encode(text, true, false);
    RS_CHECK(!ids.empty(), "the text gives no tokens");
    ThreadPool pool(o->threads);
    Vec raw;
    const Vec e = lm.model->embed(ids, &pool, &raw);
    if (o->json) {
      nlohmann::json j;
      j["embedding"] = e;
      j["n_tokens"] = ids.size();
      if (o->raw) j["embedding_raw"] = raw;
      fmt::print("{}\n", j.dump());
    } else {
      fmt::print("{}\n", fmt::join(e, " "));
    }
  });
}

}  // namespace rs::cli
