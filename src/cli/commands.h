// Registration of every `rightsize` subcommand; each register_* lives in its own cmd_*.cpp.
#pragma once

namespace CLI {
class App;
}

namespace rs::cli {

void register_commands(CLI::App& app);
void register_info(CLI::App& app);
void register_run(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_embed(CLI::App& app);
void register_make_random(CLI::App& app);
void register_quantize(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);
void register_route_eval(CLI::App& app);
void register_finetune(CLI::App& app);
void register_lora(CLI::App& app);
void register_train_router(CLI::App& app);
void register_classify(CLI::App& app);
void register_cache_eval(CLI::App& app);

// Exit code chosen by the subcommand that ran (0 unless it set another).
int exit_code();
void set_exit_code(int code);

}  // namespace rs::cli
