// Training-side model state: the frozen base weights read to a plain array type (f32 for
// training, f64 for the finite-difference tests) and the trainable LoRA parameters with their
// gradients. Only llama-family models (RMSNorm, SwiGLU, RoPE, separate q/k/v and gate/up; q/k/v
// biases allowed) can be trained; anything else is an rs::Error at load time.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "formats/lora_adapter.h"
#include "model/hparams.h"

namespace rs {
class TensorSource;
}

namespace rs::train {

template <typename T>
struct LayerParams {
  std::vector<T> attn_norm, ffn_norm;  // [E]
  std::vector<T> wq, wk, wv, wo;       // [Q][E], [KV][E], [KV][E], [E][Q]  (row = output)
  std::vector<T> bq, bk, bv;           // optional biases (qwen2), empty when absent
  std::vector<T> wg, wu, wd;           // [F][E], [F][E], [E][F]
};

template <typename T>
struct BaseWeights {
  HParams hp;
  std::vector<T> embd;            // [V][E]
  std::vector<T> out_norm;        // [E]
  std::vector<T> output;          // [V][E]; a copy of embd when the model ties them
  std::vector<float> rope_freqs;  // [n_rot/2] or empty
  std::vector<LayerParams<T>> layers;

  // Reads every weight of `source` (any supported type, dequantized). rs::Error when the
  // architecture is not llama-like.
  static BaseWeights load(const TensorSource& source, const HParams& hp);
};

// One trainable pair: W·x + scale·B·(A·x). Row order of B follows the model being trained.
template <typename T>
struct LoraTensor {
  int64_t rank = 0, n_in = 0, n_out = 0;
  T scale = 0;
  std::vector<T> a, b;    // A [rank][n_in], B [n_out][rank]
  std::vector<T> ga, gb;  // their gradients
  explicit operator bool() const { return rank > 0; }
};

template <typename T>
struct LoraSet {
  std::vector<std::array<LoraTensor<T>, lora::kNumTargets>> layers;

  // PEFT's initialisation: A ~ U(-1/sqrt(n_in), 1/sqrt(n_in)) (kaiming_uniform_ with a = sqrt(5))
  // from a generator seeded with `seed`, B = 0. scale = alpha/r, or alpha/sqrt(r) with rsLoRA.
  static LoraSet init(const HParams& hp, const std::vector<lora::Target>& targets, int64_t rank,
                      double alpha, bool use_rslora, uint64_t seed);
  // From an adapter bound to the same model (resuming, or the tests' non-zero B).
  static LoraSet from_adapter(const lora::Adapter& ad, const HParams& hp, bool model_interleaved);
  // Back to an adapter file's pairs. model_interleaved: the trained q/k rows follow interleaved
  // RoPE (a GGUF llama model); want_interleaved: the file's convention (false for PEFT, the
  // architecture's GGUF RoPE style for GGUF LoRA).
  lora::Adapter to_adapter(const HParams& hp, bool model_interleaved, bool want_interleaved) const;

  void zero_grad();
  int64_t n_params() const;
  // Calls fn(param, grad, n) for every A and B in a fixed order (the optimizer's walk).
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (auto& layer : layers)
      for (auto& t : layer)
        if (t) {
          fn(t.a.data(), t.ga.data(), static_cast<int64_t>(t.a.size()));
          fn(t.b.data(), t.gb.data(), static_cast<int64_t>(t.b.size()));
        }
  }
};

// (n_in, n_out) of the weight a target adapts, from the model's hyper-parameters.
std::pair<int64_t, int64_t> target_shape(const HParams& hp, lora::Target t);

}  // namespace rs::train
