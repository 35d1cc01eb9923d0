// rightsize: one binary, one subcommand per task. Each subcommand lives in its own file and only
// parses flags, calls the library and prints; the work is in src/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "rightsize: run small language models on the CPU.\n"
      "Examples:\n"
      "  rightsize run -m model.gguf -p \"Once upon a time\" -n 64\n"
      "  rightsize info model.gguf\n"
      "  rightsize tokenize -m model.gguf -p \"Hello world\" --json\n"
      "  rightsize embed -m bert.gguf -p \"a sentence\" --json\n",
      "rightsize"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rightsize 0.1.0");
  rs::cli::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const rs::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return rs::cli::exit_code();
}
