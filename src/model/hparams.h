// Hyper-parameters of a model and the per-architecture traits that turn one generic forward pass
// into llama, qwen2, phi3, gemma2 or bert. An architecture is data (this table) plus the few hooks
// the forward pass asks about; see docs/ARCHITECTURE.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ops.h"

namespace rs::gguf {
class File;
}

namespace rs {

enum class NormKind { RMS, Layer };
enum class FfnKind {
  SiluGated,  // down(silu(gate(x)) ⊙ up(x))      llama, qwen2, phi3
  GeluGated,  // down(gelu(gate(x)) ⊙ up(x))      gemma2
  Gelu,       // down(gelu(up(x) + b) + b)         bert
};
enum class Pooling { None = 0, Mean = 1, Cls = 2, Last = 3 };  // llama.cpp's pooling_type ids

struct ArchTraits {
  const char* name;         // GGUF general.architecture
  NormKind norm;
  FfnKind ffn;
  kernels::RopeStyle rope;  // for GGUF files (HF llama folders use Halves, see hf_loader)
  bool use_rope;
  bool causal;
  bool embd_scale_sqrt;     // gemma2 multiplies embeddings by sqrt(n_embd)
  bool swa_even_layers_only;  // gemma2: sliding window on layers 0, 2, 4, ...; phi3: all layers
};

// Traits for an architecture name, or nullptr when rightsize does not know it.
const ArchTraits* find_arch(const std::string& name);
std::string supported_arch_names();

struct HParams {
  const ArchTraits* arch = nullptr;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;    // key/query head size (gemma2: key_length, may differ from n_embd/n_head)
  int64_t head_dim_v = 0;  // value head size
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float norm_eps = 1e-5f;
  int n_rot = 0;
  float rope_base = 10000.0f;
  kernels::RopeStyle rope_style = kernels::RopeStyle::Interleaved;
  float attn_softcap = 0;   // 0 = off
  float final_softcap = 0;  // 0 = off
  int64_t sliding_window = 0;  // 0 = off
  Pooling pooling = Pooling::None;
  bool causal = true;

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
  int64_t n_embd_v() const { return n_head_kv * head_dim_v; }
  bool layer_uses_swa(int64_t layer) const {
    return sliding_window > 0 && (!arch->swa_even_layers_only || layer % 2 == 0);
  }
  bool generative() const { return pooling == Pooling::None; }
  // Throws rs::Error naming the first inconsistency (zero heads, head count not dividing, ...).
  void validate() const;
};

// Reads `<arch>.*` keys of a GGUF file; n_vocab comes from the token embedding (set by the loader).
HParams hparams_from_gguf(const gguf::File& file);

}  // namespace rs
