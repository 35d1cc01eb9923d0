// rightsize quantize IN OUT TYPE [--allow-requantize] [--pure] [-t N] [--json]: convert a GGUF
// model to another mix with llama-quantize's per-tensor rules; prints the chosen types per tensor
// kind (and why they differ from the mix's base type), with a progress bar on stderr.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/quantize.h"

namespace rs::cli {

void register_quantize(CLI::App& app) {
  struct Opts {
    std::string in, out, type;
    bool allow_requantize = false, pure = false, json = false;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("quantize",
                                 "Convert a GGUF model to another type mix (llama-quantize rules)");
  cmd->footer(
      "Types: " + quant_mix_names() + ".\n" +
      "Rules follow llama-quantize: norms and biases stay F32; output.weight (or the tied token\n"
      "embedding) gets Q6_K; Q4_K_M puts attn_v and ffn_down of the first and last eighth of\n"
      "the layers and of every third layer in between in Q6_K. Rows that are not a multiple\n"
      "of a K-quant's 256 fall back as in llama.cpp (Q4_K -> Q5_0, Q6_K -> Q8_0). A type\n"
      "rightsize cannot compute yet (Q5_1, Q5_K) is replaced by the nearest one with more\n"
      "bits (Q8_0, Q6_K). The summary lists each tensor kind's types and the reasons.\n"
      "Examples:\n"
      "  rightsize quantize model-f32.gguf model-q4_k_m.gguf q4_k_m\n"
      "  rightsize quantize model-f16.gguf model-q8_0.gguf Q8_0 -t 2 --json");
  cmd->add_option("input", o->in, "GGUF model to read (F32, F16 or BF16 weights)")->required();
  cmd->add_option("output", o->out, "GGUF file to write (written atomically)")->required();
  cmd->add_option("type", o->type, "Target type or mix: " + quant_mix_names())->required();
  cmd->add_flag("--allow-requantize", o->allow_requantize,
                "Accept an input whose weights are already quantized");
  cmd->add_flag("--pure", o->pure,
                "No mix rules: every quantizable weight in the base type (fallbacks still apply)");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->add_flag("--json", o->json,
                "Print one JSON object with every tensor's type instead of the summary");
  cmd->callback([o] {
    const auto mix = quant_mix_from_name(o->type);
    RS_CHECK(mix, "unknown type '{}'; choose one of: {}", o->type, quant_mix_names());
    RS_CHECK(o->threads >= 0 && o->threads <= 1024,
             "--threads must be between 0 (all cores) and 1024");
    QuantizeOptions qo;
    qo.mix = *mix;
    qo.pure = o->pure;
    qo.allow_requantize = o->allow_requantize;
    qo.n_threads = o->threads;
    std::unique_ptr<ProgressBar> bar;
    qo.progress = [&bar](uint64_t done, uint64_t total, const std::string& tensor) {
      if (!bar) bar = std::make_unique<ProgressBar>("quantize", total);
      bar->update(done, tensor);
    };
    const WriteReport r = quantize_model(o->in, o->out, qo);
    if (bar) bar->finish();

    uint64_t bytes_in = 0;
    for (const auto& t : r.tensors) bytes_in += t.bytes_in;
    const std::string mix_name = std::string(quant_mix_info(*mix).name);
    if (o->json) {
      nlohmann::json j;
      j["input"] = o->in;
      j["output"] = o->out;
      j["type"] = mix_name;
      j["file_type"] = quant_mix_info(*mix).file_type;
      j["tensor_bytes_in"] = bytes_in;
      j["tensor_bytes_out"] = r.tensor_bytes;
      j["file_bytes"] = r.file_bytes;
      j["seconds"] = r.seconds;
      for (const auto& t : r.tensors)
        j["tensors"].push_back({{"name", t.name},
                                {"ne", t.ne},
                                {"from", dtype_name(t.from)},
                                {"type", dtype_name(t.to)},
                                {"note", t.note},
                                {"bytes", t.bytes_out}});
      fmt::print("{}\n", j.dump(-1));
      return;
    }
    fmt::print("{} -> {} ({}): {:.2f} MiB -> {:.2f} MiB of tensors, file {:.2f} MiB, {:.1f} s\n",
               o->in, o->out, mix_name, bytes_in / 1048576.0, r.tensor_bytes / 1048576.0,
               r.file_bytes / 1048576.0, r.seconds);
    fmt::print("types per tensor kind:\n");
    for (const auto& line : summarize_types(r.tensors)) fmt::print("  {}\n", line);
  });
}

}  // namespace rs::cli
