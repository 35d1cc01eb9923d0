#include "cli/commands.h"

#include <CLI/CLI.hpp>

namespace rs::cli {
namespace {
int g_exit_code = 0;
}

void register_commands(CLI::App& app) {
  register_run(app);
  register_info(app);
  register_tokenize(app);
  register_embed(app);
  register_make_random(app);
  register_quantize(app);
  register_bench(app);
  register_eval(app);
  register_serve(app);
  register_route_eval(app);
  register_finetune(app);
  register_lora(app);
  register_train_router(app);
  register_classify(app);
  register_cache_eval(app);
}

int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }

}  // namespace rs::cli
