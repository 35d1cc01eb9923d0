// LoRA adapter files: PEFT folders (adapter_config.json + adapter_model.safetensors) and
// llama.cpp's GGUF LoRA files, read into (and written from) one in-memory form with f32 values.
//
// A LoRA pair replaces y = W·x by y = W·x + s·B·(A·x) for one weight W [n_out rows][n_in]:
//   A [rank][n_in]   PEFT "lora_A.weight" shape [r, n_in];  GGUF "<w>.lora_a" ne = [n_in, r]
//   B [n_out][rank]  PEFT "lora_B.weight" shape [n_out, r]; GGUF "<w>.lora_b" ne = [r, n_out]
// (both are the same row-major bytes). The scale s is alpha/r, or alpha/sqrt(r) with rsLoRA
// (PEFT's use_rslora); GGUF files store adapter.lora.alpha and llama.cpp uses alpha/r (s = 1
// when alpha is 0).
//
// Row order of q/k: PEFT adapters follow the Hugging Face checkpoint, whose q/k rows are
// permuted for rotate_half RoPE; a GGUF LoRA for a llama-architecture model follows the GGUF
// model (llama.cpp's converter permutes lora_B like the weight). Binding to a model (see
// model/lora.h) reconciles the two; this file keeps rows as stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::lora {

// The projections an adapter may target, by their Hugging Face module names.
enum class Target { Q, K, V, O, Gate, Up, Down };
inline constexpr int kNumTargets = 7;

std::string_view hf_module(Target t);    // "q_proj", ..., "down_proj"
std::string_view hf_path(Target t);      // "self_attn.q_proj", ..., "mlp.down_proj"
std::string_view gguf_weight(Target t);  // "attn_q", "attn_k", "attn_v", "attn_output",
                                         // "ffn_gate", "ffn_up", "ffn_down"
std::optional<Target> target_from_hf(std::string_view module);
// "q_proj,v_proj" -> {Q, V}; rs::Error naming an unknown module.
std::vector<Target> parse_targets(std::string_view comma_list);

struct Pair {
  int64_t layer = 0;
  Target target = Target::Q;
  int64_t rank = 0, n_in = 0, n_out = 0;
  float scale = 1;
  std::vector<float> a;  // [rank][n_in]
  std::vector<float> b;  // [n_out][rank]
};

enum class Format { Peft, Gguf };

struct Adapter {
  Format format = Format::Peft;
  std::string source;        // path, for messages
  std::string architecture;  // GGUF general.architecture ("" for PEFT)
  std::string base_model;    // PEFT base_model_name_or_path / GGUF general.base_model (informative)
  int64_t rank = 0;          // the configured r (PEFT) or the largest pair rank (GGUF)
  double alpha = 0;
  bool use_rslora = false;
  std::vector<Target> targets;  // distinct targets present, in enum order
  std::vector<Pair> pairs;      // sorted by (layer, target)

  const Pair* find(int64_t layer, Target t) const;
};

// The scale PEFT uses: alpha/sqrt(r) with rsLoRA, else alpha/r.
double peft_scale(double alpha, int64_t rank, bool use_rslora);

// A PEFT folder (or its adapter_config.json / adapter_model.safetensors) or a GGUF LoRA file.
// Throws rs::Error naming the file and what is wrong (missing file, unsupported option such as
// DoRA or fan_in_fan_out, a tensor with the wrong rank or shape, an unpaired A or B).
Adapter load_adapter(const std::string& path);
Adapter load_peft(const std::string& dir);
Adapter load_gguf_lora(const std::string& path);

// Writes adapter_config.json and adapter_model.safetensors (F32) into `dir` (created if needed),
// with the tensor names and config keys PEFT's from_pretrained reads. Every pair must share
// adapter.rank; pair scales are not stored (PEFT recomputes them from r, lora_alpha, use_rslora).
void save_peft(const Adapter& adapter, const std::string& dir);
// Writes a GGUF LoRA (F32) that llama.cpp's --lora accepts for a model of `architecture`.
// adapter.lora.alpha is chosen so that llama.cpp's alpha/r reproduces each pair's scale.
void save_gguf_lora(const Adapter& adapter, const std::string& path);

}  // namespace rs::lora
