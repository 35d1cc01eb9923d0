// Writes GGUF models with random weights at real model shapes, for benchmarks: speed does not
// depend on the values, and real weights cannot be downloaded everywhere. The files carry the
// metadata llama.cpp's converter writes (general.*, <arch>.*, general.file_type,
// general.quantization_version) and a minimal SentencePiece-style vocabulary, so llama.cpp loads
// and benchmarks the same file side by side with rightsize.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/quant_policy.h"
#include "model/tensor_convert.h"

namespace rs {

struct ModelShape {
  std::string arch = "llama";  // "llama" or "qwen2" (q/k/v biases)
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // 0: n_embd / n_head
  int64_t n_ff = 0;
  int64_t n_ctx = 2048;  // <arch>.context_length
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied = true;  // no output.weight: the token embedding is the output matrix

  int64_t head_size() const { return head_dim > 0 ? head_dim : (n_head > 0 ? n_embd / n_head : 0); }
  bool qkv_bias() const { return arch == "qwen2"; }
  // Throws rs::Error naming the first bad value, with the flag that sets it.
  void validate() const;
  uint64_t n_params() const;
};

// Presets at real shapes (vocabulary sizes as in docs/PERF-ANCHORS.md so that files match the
// llama.cpp reference figures): smollm2-135m, llama3.2-1b, qwen2.5-0.5b, and "tiny" for tests.
std::vector<std::string> model_preset_names();
std::optional<ModelShape> model_preset(std::string_view name);

struct RandomModelOptions {
  ModelShape shape;
  std::string name;  // general.name; default "<arch> random <params>"
  QuantMix mix = QuantMix::F32;
  bool pure = false;  // every weight in the mix's base type (see quant_policy.h)
  uint64_t seed = 42;
  float weight_std = 0.02f;  // weights and biases ~ N(0, std²); norm weights are 1
  bool vocab = true;         // write the minimal vocabulary (needs n_vocab >= 259)
  int n_threads = 0;         // 0: all cores
  ProgressFn progress;
};

// Writes the model to `path` atomically. The same options and seed give the same bytes,
// whatever the thread count: each row's values come from its own seeded generator.
WriteReport write_random_model(const std::string& path, const RandomModelOptions& opts);

}  // namespace rs
