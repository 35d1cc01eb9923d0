// A LoRA adapter bound to one model: every pair checked against the model's shapes and stored in
// the model's own row order, ready for the forward pass to add s·B·(A·x) after a projection.
//
// Why a separate bound form: adapter files keep q/k rows as stored (Hugging Face order for PEFT,
// GGUF order for GGUF LoRA of llama models, see formats/lora_adapter.h), while a model loaded
// from GGUF rotates with interleaved RoPE pairs and one loaded from a Hugging Face folder with
// rotate_half pairs. Binding permutes B's rows once so that the forward needs no case analysis.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/lora_adapter.h"
#include "model/hparams.h"

namespace rs {

class ThreadPool;
class TensorSource;

struct LoraWeight {
  int64_t rank = 0, n_in = 0, n_out = 0;
  float scale = 0;
  std::vector<float> a;  // [rank][n_in]
  std::vector<float> b;  // [n_out][rank], rows in the model's order
  explicit operator bool() const { return rank > 0; }
};

class LoraAdapter {
 public:
  // Checks every pair against the model (layer index, [n_in, n_out] of the adapted weight,
  // unfused q/k/v and gate/up, GGUF architecture) and reorders q/k rows for the model's RoPE
  // layout. Throws rs::Error naming the adapter and the mismatch.
  static std::shared_ptr<const LoraAdapter> bind(const lora::Adapter& file, const HParams& hp,
                                                 const TensorSource& source);

  // The pair for (layer, target), or nullptr when the adapter leaves that weight alone.
  const LoraWeight* get(int64_t layer, lora::Target t) const {
    const auto& w = layers_[static_cast<size_t>(layer)][static_cast<size_t>(t)];
    return w ? &w : nullptr;
  }
  int64_t n_layer() const { return static_cast<int64_t>(layers_.size()); }
  const std::string& source() const { return source_; }
  const lora::Adapter& file() const { return file_; }

  // Y[t][o] += scale · Σ_r B[o][r] · (Σ_i A[r][i] · X[t][i]) for t < n_tokens, X [n][n_in] and
  // Y [n][n_out] row-major (strides n_in and n_out). Tokens are split across the pool's threads.
  static void apply(const LoraWeight& w, const float* x, int64_t n_tokens, float* y,
                    ThreadPool* pool);
  // The dense update row: delta[i] = scale · Σ_r B[row][r] · A[r][i], for merging.
  static void delta_row(const LoraWeight& w, int64_t row, float* delta);

 private:
  LoraAdapter() = default;
  std::string source_;
  lora::Adapter file_;  // the file's metadata (pairs emptied: the values live in layers_)
  std::vector<std::array<LoraWeight, lora::kNumTargets>> layers_;
};

// Reorders the rows of `rows` ([n_heads·head_dim][row_len]) from Hugging Face rotate_half order
// to GGUF interleaved order (to_gguf) or back: GGUF row h·d + 2i + j is HF row h·d + j·d/2 + i.
void permute_qk_rows(std::vector<float>& rows, int64_t n_heads, int64_t head_dim, int64_t row_len,
                     bool to_gguf);

}  // namespace rs
