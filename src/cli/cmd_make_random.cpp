// rightsize make-random --preset NAME -o FILE [--type T] [--seed N] [shape flags]: write a GGUF
// model with random weights at a real model's shape, for benchmarks (speed does not depend on the
// values). The file also loads in llama.cpp, so both engines can be measured on the same bytes.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/model_writer.h"

namespace rs::cli {

void register_make_random(CLI::App& app) {
  struct Opts {
    std::string preset, out, type = "f32", name;
    uint64_t seed = 42;
    float std_dev = 0.02f;
    bool untied = false, tied = false, no_vocab = false, pure = false, json = false;
    int threads = 0;
    ModelShape shape;  // flags given explicitly override the preset
    std::string arch;
  };
  auto o = std::make_shared<Opts>();
  std::string presets;
  for (const auto& p : model_preset_names()) presets += (presets.empty() ? "" : ", ") + p;
  auto* cmd = app.add_subcommand("make-random",
                                 "Write a GGUF model with random weights at a real model shape");
  cmd->footer(
      "Presets: " + presets +
      " (vocabularies as in the llama.cpp speed\n"
      "anchors: 50,257 for smollm2-135m, 32,000 for llama3.2-1b). Shape flags override a preset,\n"
      "or give the whole shape without one. Weights ~ N(0, std^2) from the seed, norms 1.\n"
      "Types: " +
      quant_mix_names() +
      " (same per-tensor rules as `rightsize quantize`).\n"
      "Examples:\n"
      "  rightsize make-random --preset smollm2-135m --type q4_0 -o smollm2-q4_0.gguf\n"
      "  rightsize make-random --preset llama3.2-1b --type q8_0 -o llama1b-q8_0.gguf --seed 7\n"
      "  rightsize make-random --arch llama --n-vocab 1000 --n-embd 256 --n-layer 2 --n-head 4 \\\n"
      "      --n-head-kv 2 --n-ff 512 -o small.gguf");
  cmd->add_option("--preset", o->preset, "Model shape: " + presets);
  cmd->add_option("-o,--output", o->out, "GGUF file to write")->required();
  cmd->add_option("--type", o->type, "Weight type or mix")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--std", o->std_dev, "Standard deviation of the weights")->capture_default_str();
  cmd->add_option("--name", o->name, "general.name (default: arch, size and seed)");
  cmd->add_option("--arch", o->arch, "Architecture: llama or qwen2 (q/k/v biases)");
  cmd->add_option("--n-vocab", o->shape.n_vocab, "Vocabulary size");
  cmd->add_option("--n-embd", o->shape.n_embd, "Embedding width");
  cmd->add_option("--n-layer", o->shape.n_layer, "Blocks");
  cmd->add_option("--n-head", o->shape.n_head, "Attention heads");
  cmd->add_option("--n-head-kv", o->shape.n_head_kv, "Key/value heads (default: --n-head)");
  cmd->add_option("--head-dim", o->shape.head_dim, "Head size (default: n_embd / n_head)");
  cmd->add_option("--n-ff", o->shape.n_ff, "Feed-forward width");
  cmd->add_option("--n-ctx", o->shape.n_ctx, "Training context length written to the metadata");
  cmd->add_option("--rope-base", o->shape.rope_base, "RoPE frequency base");
  cmd->add_option("--norm-eps", o->shape.norm_eps, "RMS norm epsilon");
  auto* untied =
      cmd->add_flag("--untied", o->untied, "Write a separate output.weight (default: tied)");
  cmd->add_flag("--tied", o->tied, "Tie the output to the token embedding")->excludes(untied);
  cmd->add_flag("--no-vocab", o->no_vocab, "Write no tokenizer metadata (token ids only)");
  cmd->add_flag("--pure", o->pure, "Every weight in the base type, no mix rules");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print one JSON object describing the file");
  cmd->callback([o, cmd] {
    const auto mix = quant_mix_from_name(o->type);
    RS_CHECK(mix, "unknown --type '{}'; choose one of: {}", o->type, quant_mix_names());
    RS_CHECK(o->threads >= 0 && o->threads <= 1024,
             "--threads must be between 0 (all cores) and 1024");
    ModelShape shape;
    if (!o->preset.empty()) {
      auto p = model_preset(o->preset);
      RS_CHECK(p, "unknown --preset '{}'; choose one of: {}", o->preset,
               fmt::join(model_preset_names(), ", "));
      shape = *p;
    }
    // Explicit shape flags win over the preset.
    auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
    if (!o->arch.empty()) shape.arch = o->arch;
    if (given("--n-vocab")) shape.n_vocab = o->shape.n_vocab;
    if (given("--n-embd")) shape.n_embd = o->shape.n_embd;
    if (given("--n-layer")) shape.n_layer = o->shape.n_layer;
    if (given("--n-head")) shape.n_head = o->shape.n_head;
    if (given("--n-head-kv"))
      shape.n_head_kv = o->shape.n_head_kv;
    else if (o->preset.empty())
      shape.n_head_kv = shape.n_head;
    if (given("--head-dim")) shape.head_dim = o->shape.head_dim;
    if (given("--n-ff")) shape.n_ff = o->shape.n_ff;
    if (given("--n-ctx")) shape.n_ctx = o->shape.n_ctx;
    if (given("--rope-base")) shape.rope_base = o->shape.rope_base;
    if (given("--norm-eps")) shape.norm_eps = o->shape.norm_eps;
    if (o->untied) shape.tied = false;
    if (o->tied) shape.tied = true;
    RS_CHECK(!o->preset.empty() || shape.n_embd > 0,
             "give --preset NAME ({}) or the shape flags (--n-vocab, --n-embd, --n-layer, "
             "--n-head, --n-ff)",
             fmt::join(model_preset_names(), ", "));

    RandomModelOptions ro;
    ro.shape = shape;
    ro.name = o->name;
    ro.mix = *mix;
    ro.pure = o->pure;
    ro.seed = o->seed;
    ro.weight_std = o->std_dev;
    ro.vocab = !o->no_vocab;
    ro.n_threads = o->threads;
    std::unique_ptr<ProgressBar> bar;
    ro.progress = [&bar](uint64_t done, uint64_t total, const std::string& tensor) {
      if (!bar) bar = std::make_unique<ProgressBar>("make-random", total);
      bar->update(done, tensor);
    };
    const WriteReport r = write_random_model(o->out, ro);
    if (bar) bar->finish();
    const std::string mix_name(quant_mix_info(*mix).name);
    if (o->json) {
      nlohmann::json j;
      j["output"] = o->out;
      j["arch"] = shape.arch;
      j["type"] = mix_name;
      j["n_params"] = shape.n_params();
      j["n_vocab"] = shape.n_vocab;
      j["n_embd"] = shape.n_embd;
      j["n_layer"] = shape.n_layer;
      j["n_head"] = shape.n_head;
      j["n_head_kv"] = shape.n_head_kv;
      j["head_dim"] = shape.head_size();
      j["n_ff"] = shape.n_ff;
      j["tied"] = shape.tied;
      j["seed"] = o->seed;
      j["tensor_bytes"] = r.tensor_bytes;
      j["file_bytes"] = r.file_bytes;
      j["seconds"] = r.seconds;
      fmt::print("{}\n", j.dump(-1));
      return;
    }
    fmt::print("wrote {}: {} {:.2f} M parameters, {}, {:.2f} MiB, {:.1f} s\n", o->out, shape.arch,
               shape.n_params() / 1e6, mix_name, r.file_bytes / 1048576.0, r.seconds);
  });
}

}  // namespace rs::cli
