// rightsize bench -m MODEL [-p 512] [-n 128] [-t T] [-r R] [--json]: prompt-processing and
// generation speed as llama-bench measures them, plus the memory bandwidth of this machine and the
// fraction of the decode roofline (bandwidth ÷ weight bytes read per token) that generation
// reaches.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/bench_server.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/mem_bandwidth.h"
#include "core/thread_pool.h"
#include "engine/bench.h"
#include "formats/gguf.h"
#include "model/model.h"
#include "model/quant_policy.h"

namespace rs::cli {
namespace {

// "Q4_0" from general.file_type when it names one of our mixes, else the type holding most bytes.
std::string model_type_name(const Model& m) {
  if (const gguf::File* f = m.source().gguf())
    if (auto ft = f->get_uint("general.file_type"))
      if (auto mix = quant_mix_from_file_type(static_cast<uint32_t>(*ft))) {
        std::string s(quant_mix_info(*mix).name);
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      }
  std::map<std::string, uint64_t> bytes;
  for (const auto& [name, t] : m.source().all()) bytes[std::string(dtype_name(t.type))] += t.nbytes;
  auto best = std::max_element(bytes.begin(), bytes.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  return best == bytes.end() ? "?" : best->first;
}

std::string params_label(uint64_t n) {
  return n >= 1000000000 ? fmt::format("{:.2f}B", n / 1e9) : fmt::format("{:.0f}M", n / 1e6);
}

nlohmann::json stat_or_null(const BenchStats& s, bool sd) {
  if (s.empty()) return nullptr;
  return sd ? s.sd() : s.mean();
}

}  // namespace

void register_bench(CLI::App& app) {
  struct Opts {
    std::string model;
    int n_prompt = 512, n_gen = 128, threads = 0, reps = 5, sequences = 1;
    KvType kv_type = KvType::F16;
    bool json = false, no_bandwidth = false, bandwidth_only = false;
    int bandwidth_mib = 1024;
  };
  auto o = std::make_shared<Opts>();
  auto srv = std::make_shared<ServerBenchOptions>();
  auto* cmd = app.add_subcommand(
      "bench", "Measure prompt and generation speed (like llama-bench) and memory bandwidth");
  cmd->footer(
      "pp<P>: one forward pass of P random tokens into an empty context; tg<N>: N single-token\n"
      "decode steps from an empty context. One warm-up run, then R timed repetitions: mean ± sd.\n"
      "roofline_fraction = tg tokens/s x weight bytes read per token / measured read bandwidth\n"
      "(with a tied output layer every token reads all tensor bytes).\n"
      "Examples:\n"
      "  rightsize bench -m model.gguf -p 512 -n 128 -t 2 -r 3\n"
      "  rightsize bench -m model.gguf -p 0 -n 64 --json\n"
      "  rightsize bench --bandwidth-only -t 2\n"
      "  rightsize bench --server http://127.0.0.1:8080 --model m --concurrency 1,4,16 -n 128\n"
      "With --server: streams of requests (random token-id prompts, greedy, ignore_eos) at each\n"
      "concurrency level against a running server; aggregate generated tokens/s, latency, TTFT.");
  cmd->add_option("-m,--model", o->model, "GGUF file or Hugging Face folder");
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens for the pp test (0: skip)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Tokens for the tg test (0: skip)")
      ->capture_default_str();
  cmd->add_option("-s,--sequences", o->sequences,
                  "tg: decode this many sequences together (batched, as the server's scheduler "
                  "does); tokens/s counts all of them")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  add_kv_type_option(*cmd, o->kv_type);
  cmd->add_option("-r,--repetitions", o->reps, "Timed repetitions of each test")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_flag("--no-bandwidth", o->no_bandwidth, "Skip the memory-bandwidth probe (~1 s)");
  cmd->add_flag("--bandwidth-only", o->bandwidth_only, "Only measure the memory bandwidth");
  cmd->add_option("--bandwidth-mib", o->bandwidth_mib, "Buffer size of the bandwidth probe, MiB")
      ->capture_default_str();
  cmd->add_option("--server", srv->url,
                  "Benchmark a running OpenAI-compatible server at this URL instead");
  cmd->add_option("--model-name", srv->model, "With --server: the model to request");
  cmd->add_option("--api-key", srv->api_key, "With --server: bearer key");
  cmd->add_option("--concurrency", srv->concurrency, "With --server: concurrent streams per level")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--requests-per-stream", srv->requests_per_stream,
                  "With --server: requests per stream")
      ->capture_default_str();
  cmd->add_option("--rounds", srv->rounds,
                  "With --server: run the levels this many times in turn and report each level's "
                  "median tokens/s (steadier on a shared machine)")
      ->capture_default_str();
  cmd->add_option("--prompt-tokens", srv->prompt_tokens, "With --server: prompt length in tokens")
      ->capture_default_str();
  cmd->callback([o, srv, cmd] {
    if (!srv->url.empty()) {
      srv->json = o->json;
      if (cmd->count("-n")) srv->max_tokens = o->n_gen;
      run_server_bench(*srv);
      return;
    }
    RS_CHECK(o->n_prompt >= 0 && o->n_prompt <= (1 << 20),
             "-p must be between 0 and 1048576 (got {})", o->n_prompt);
    RS_CHECK(o->n_gen >= 0 && o->n_gen <= (1 << 20), "-n must be between 0 and 1048576 (got {})",
             o->n_gen);
    RS_CHECK(o->reps >= 1 && o->reps <= 1000, "-r must be between 1 and 1000 (got {})", o->reps);
    RS_CHECK(o->threads >= 0 && o->threads <= 1024,
             "-t must be between 0 (all cores) and 1024 (got {})", o->threads);
    RS_CHECK(o->bandwidth_mib >= 16 && o->bandwidth_mib <= (1 << 16),
             "--bandwidth-mib must be between 16 and 65536");
    RS_CHECK(o->bandwidth_only || !o->model.empty(), "bench needs -m MODEL (or --bandwidth-only)");
    RS_CHECK(o->bandwidth_only || o->n_prompt > 0 || o->n_gen > 0,
             "nothing to measure: -p and -n are both 0");
    RS_CHECK(!(o->bandwidth_only && o->no_bandwidth),
             "--bandwidth-only and --no-bandwidth contradict each other");

    ThreadPool pool(o->threads);
    std::optional<BandwidthResult> bw;
    if (!o->no_bandwidth)
      bw = measure_read_bandwidth(pool, static_cast<size_t>(o->bandwidth_mib) << 20);
    if (o->bandwidth_only) {
      if (o->json) {
        nlohmann::json j{{"bandwidth_gb_s", bw->gb_per_s},
                         {"threads", bw->threads},
                         {"bytes", bw->bytes},
                         {"passes", bw->passes}};
        fmt::print("{}\n", j.dump(-1));
      } else {
        fmt::print(
            "memory bandwidth: {:.1f} GB/s ({} thread{}, read-only sum over {} MiB, best of {} "
            "passes)\n",
            bw->gb_per_s, bw->threads, bw->threads == 1 ? "" : "s", bw->bytes >> 20, bw->passes);
      }
      return;
    }

    auto model = Model::load(o->model);
    uint64_t n_params = 0;
    for (const auto& [name, t] : model->source().all()) {
      uint64_t n = 1;
      for (auto d : t.ne) n *= static_cast<uint64_t>(d);
      n_params += n;
    }
    std::error_code ec;
    const uint64_t file_bytes = std::filesystem::is_regular_file(o->model, ec)
                                    ? std::filesystem::file_size(o->model, ec)
                                    : model->weight_bytes();
    const std::string type = model_type_name(*model);
    const std::string desc =
        fmt::format("{} {}", model->hparams().arch->name, params_label(n_params));

    BenchOptions bo;
    bo.n_prompt = o->n_prompt;
    bo.n_gen = o->n_gen;
    bo.reps = o->reps;
    RS_CHECK(o->sequences >= 1 && o->sequences <= 256, "--sequences must be in [1, 256] (got {})",
             o->sequences);
    bo.sequences = o->sequences;
    bo.kv_type = o->kv_type;
    const BenchResult r =
        run_bench(*model, pool, bo, [](const std::string& test, int rep, int reps) {
          if (isatty(fileno(stderr)))
            fmt::print(stderr, "\r\033[K{}: {}", test,
                       rep == 0 ? std::string("warm-up") : fmt::format("run {}/{}", rep, reps));
        });
    if (isatty(fileno(stderr))) fmt::print(stderr, "\r\033[K");

    const uint64_t bytes_per_token = decode_bytes_per_token(*model);
    const double roofline = bw ? bw->gb_per_s * 1e9 / static_cast<double>(bytes_per_token) : 0;
    // Weights are read once per step: with S sequences a step makes S tokens.
    const double fraction = bw && !r.tg.empty() ? r.tg.mean() / o->sequences / roofline : 0;
    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
      j["model_desc"] = desc;
      j["model_type"] = type;
      j["model_size_bytes"] = file_bytes;
      j["model_size_mib"] = file_bytes / 1048576.0;
      j["n_params"] = n_params;
      j["threads"] = pool.size();
      j["reps"] = o->reps;
      j["n_prompt"] = o->n_prompt;
      j["n_gen"] = o->n_gen;
      j["sequences"] = o->sequences;
      j["kv_type"] = kv_type_name(o->kv_type);
      j["pp_tokens_per_s"] = stat_or_null(r.pp, false);
      j["pp_tokens_per_s_sd"] = stat_or_null(r.pp, true);
      j["pp_samples"] = r.pp.tokens_per_s;
      j["tg_tokens_per_s"] = stat_or_null(r.tg, false);
      j["tg_tokens_per_s_sd"] = stat_or_null(r.tg, true);
      j["tg_samples"] = r.tg.tokens_per_s;
      j["weight_bytes_per_token"] = bytes_per_token;
      j["bandwidth_gb_s"] = bw ? nlohmann::json(bw->gb_per_s) : nlohmann::json(nullptr);
      j["roofline_tokens_per_s"] = bw ? nlohmann::json(roofline) : nlohmann::json(nullptr);
      j["roofline_fraction"] =
          bw && !r.tg.empty() ? nlohmann::json(fraction) : nlohmann::json(nullptr);
      fmt::print("{}\n", j.dump(-1));
      return;
    }
    fmt::print("| {:<16} | {:>10} | {:>8} | {:<6} | {:>7} | {:>6} | {:>16} |\n", "model", "size",
               "params", "type", "threads", "test", "t/s");
    fmt::print("| {:-<16} | {:->10} | {:->8} | {:-<6} | {:->7} | {:->6} | {:->16} |\n", "", "", "",
               "", "", "", "");
    auto row = [&](const std::string& test, const BenchStats& s) {
      fmt::print("| {:<16} | {:>6.2f} MiB | {:>8} | {:<6} | {:>7} | {:>6} | {:>16} |\n", desc,
                 file_bytes / 1048576.0, fmt::format("{:.2f} M", n_params / 1e6), type, pool.size(),
                 test, fmt::format("{:.2f} ± {:.2f}", s.mean(), s.sd()));
    };
    if (!r.pp.empty()) row("pp" + std::to_string(o->n_prompt), r.pp);
    if (!r.tg.empty())
      row("tg" + std::to_string(o->n_gen) +
              (o->sequences > 1 ? "x" + std::to_string(o->sequences) : std::string()),
          r.tg);
    if (bw) {
      fmt::print(
          "\nmemory bandwidth: {:.1f} GB/s ({} thread{}, read-only, best of {} passes over {} "
          "MiB)\n",
          bw->gb_per_s, bw->threads, bw->threads == 1 ? "" : "s", bw->passes, bw->bytes >> 20);
      fmt::print("decode reads {:.1f} MB of weights per token: roofline {:.1f} tokens/s",
                 bytes_per_token / 1e6, roofline);
      if (!r.tg.empty()) fmt::print(", tg{} reaches {:.1f}% of it", o->n_gen, fraction * 100);
      fmt::print("\n");
    }
  });
}

}  // namespace rs::cli
