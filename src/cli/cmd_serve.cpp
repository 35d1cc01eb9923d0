// rightsize serve -m MODEL | --config rightsize.yaml: the OpenAI-compatible server.
#include <fmt/format.h>
#include <pthread.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "server/server.h"
#include "tokenizer/chat_template.h"

namespace rs::cli {

void register_serve(CLI::App& app) {
  struct Opts {
    std::string config, api_key;
    std::vector<std::string> loras;
    server::ServerConfig cfg;
    server::ModelConfig model;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("serve", "Serve models over an OpenAI-compatible HTTP API");
  cmd->footer(
      "Endpoints: POST /v1/chat/completions, /v1/completions, /v1/embeddings; GET /v1/models, "
      "/health,\n"
      "/metrics (Prometheus). Requests are batched continuously: up to --parallel sequences per "
      "model\n"
      "decode together, more wait in a queue of --queue (then 429).\n\n"
      "Examples:\n"
      "  rightsize serve -m model.gguf                      # http://127.0.0.1:8080/v1\n"
      "  rightsize serve -m model.gguf --port 9000 --parallel 16 --ctx-size 4096\n"
      "  rightsize serve --config rightsize.yaml            # several models (docs/config.md)\n"
      "  rightsize serve -m base.gguf --lora spam=spam-adapter/   # model \"base:spam\" per "
      "request\n"
      "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
      "       -d '{\"model\":\"model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n\n"
      "Without an API key the server only listens on loopback addresses. Set a key with --api-key "
      "or\n"
      "the RIGHTSIZE_API_KEY environment variable; clients send 'Authorization: Bearer KEY'.\n"
      "Adapters load and unload at run time: POST /v1/load_lora_adapter "
      "{\"lora_name\",\"lora_path\"},\n"
      "POST /v1/unload_lora_adapter {\"lora_name\"} (as vLLM).\n"
      "SIGTERM or Ctrl-C: stop accepting, let running requests finish within --shutdown-grace, "
      "exit.");
  auto* m =
      cmd->add_option("-m,--model", o->model.path, "GGUF file or Hugging Face folder to serve");
  cmd->add_option("--config", o->config, "YAML file with server settings and several models")
      ->excludes(m);
  cmd->add_option("--name", o->model.name,
                  "Model name clients use (default: the file name without extension)");
  cmd->add_option("--tokenizer", o->model.tokenizer, "Tokenizer override (GGUF or tokenizer.json)");
  cmd->add_option("--chat-template", o->model.chat_template,
                  "Chat format name (" + chat_format_names() + ")");
  cmd->add_option("--lora", o->loras,
                  "LoRA adapter NAME=PATH (PEFT folder or GGUF LoRA), repeatable; clients ask for "
                  "it as model \"MODEL:NAME\"");
  cmd->add_option("--host", o->cfg.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->cfg.port, "Port (0: any free port, printed at start)")
      ->capture_default_str();
  cmd->add_option("--api-key", o->api_key, "Require this bearer key (also: RIGHTSIZE_API_KEY)");
  cmd->add_option("--parallel", o->model.parallel, "Sequences decoded together")
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", o->model.ctx_size, "Context per sequence (prompt + completion)")
      ->capture_default_str();
  cmd->add_option("--kv-type", o->model.kv_type,
                  "KV cache type: f16 (half the memory and attention reads, as llama.cpp's "
                  "default) or f32 (exact)")
      ->check(CLI::IsMember({"f16", "f32"}))
      ->capture_default_str();
  cmd->add_option("--batch-tokens", o->model.batch_tokens,
                  "Tokens per forward pass at most (prompt chunk size)")
      ->capture_default_str();
  cmd->add_option("--queue", o->model.queue, "Requests that may wait for a slot; beyond: 429")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->model.threads, "Compute threads (default: all cores)");
  cmd->add_option("--timeout", o->cfg.request_timeout_s, "Seconds a request may take")
      ->capture_default_str();
  cmd->add_option("--max-body", o->cfg.max_body_bytes, "Largest request body in bytes (413 beyond)")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace", o->cfg.shutdown_grace_s,
                  "Seconds running requests get on shutdown")
      ->capture_default_str();
  cmd->add_flag("--allow-unauthenticated-remote", o->cfg.allow_unauthenticated_remote,
                "Listen on a non-loopback address without an API key (not recommended)");
  cmd->callback([o, cmd] {
    server::ServerConfig cfg = o->cfg;
    if (!o->config.empty()) {
      cfg = server::load_server_config(o->config);
      // Flags given explicitly override the file.
      if (cmd->count("--host")) cfg.host = o->cfg.host;
      if (cmd->count("--port")) cfg.port = o->cfg.port;
      if (cmd->count("--timeout")) cfg.request_timeout_s = o->cfg.request_timeout_s;
      if (cmd->count("--max-body")) cfg.max_body_bytes = o->cfg.max_body_bytes;
      if (cmd->count("--shutdown-grace")) cfg.shutdown_grace_s = o->cfg.shutdown_grace_s;
      if (cmd->count("--allow-unauthenticated-remote")) cfg.allow_unauthenticated_remote = true;
    } else {
      RS_CHECK(!o->model.path.empty(),
               "give a model (-m MODEL) or a config file (--config rightsize.yaml)");
      server::ModelConfig mc = o->model;
      if (mc.name.empty()) mc.name = std::filesystem::path(mc.path).stem().string();
      for (const std::string& spec : o->loras) {
        const size_t eq = spec.find('=');
        RS_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
                 "--lora takes NAME=PATH (e.g. --lora spam=adapters/spam), got '{}'", spec);
        mc.adapters.push_back({spec.substr(0, eq), spec.substr(eq + 1)});
      }
      cfg.models = {mc};
    }
    if (!o->api_key.empty()) cfg.api_keys.push_back(o->api_key);
    if (const char* k = std::getenv("RIGHTSIZE_API_KEY"); k && *k) cfg.api_keys.emplace_back(k);
    cfg.validate();

    // SIGTERM/SIGINT are taken by one thread with sigwait (blocked everywhere else, so set before
    // any thread starts); it runs the graceful stop outside signal-handler context.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    server::Server srv(cfg);
    std::thread watcher([&srv, sigs] {
      int sig = 0;
      sigwait(&sigs, &sig);
      if (sig != 0) srv.stop();
    });
    const bool ok = srv.listen();
    // Wake the watcher if listening ended for another reason (bind failure).
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    RS_CHECK(ok,
             "cannot listen on {}:{} (in use, or not an address of this machine); choose another "
             "--port or --host",
             cfg.host, cfg.port);
    fmt::print(stderr, "serve: stopped\n");
  });
}

}  // namespace rs::cli
