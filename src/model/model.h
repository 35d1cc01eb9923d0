// A loaded model: hyper-parameters, weights (views into the mapped file) and the one generic
// forward pass that every architecture runs. Which optional steps run (biases, fused tensors,
// post-norms, bert's post-LN blocks) follows from the tensors the file has and from ArchTraits.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "formats/lora_adapter.h"
#include "kernels/matmul.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/tensor_source.h"

namespace rs {

class ThreadPool;
class LoraAdapter;

using kernels::WeightView;
using Vec = std::vector<float>;  // small f32 parameter vectors (norms, biases); empty = absent

struct LayerWeights {
  Vec attn_norm, attn_norm_b;
  WeightView wq, wk, wv, wqkv, wo;  // wqkv: phi3's fused [Q;K;V] rows
  Vec bq, bk, bv, bo;
  Vec post_attn_norm;                  // gemma2
  Vec attn_out_norm, attn_out_norm_b;  // bert: LN after the attention residual
  Vec ffn_norm;
  WeightView gate, up, down;  // phi3: `up` holds [gate; up] rows and `gate` is empty
  Vec up_b, down_b;
  Vec post_ffn_norm;         // gemma2
  Vec out_norm, out_norm_b;  // bert: LN after the FFN residual
};

struct ModelWeights {
  WeightView token_embd, output;  // output empty → tied to token_embd
  WeightView position_embd, token_types;
  Vec embd_norm, embd_norm_b;
  Vec output_norm, output_norm_b;
  Vec rope_freqs;
  std::vector<LayerWeights> layers;
};

// One sequence's share of a batched forward pass: its new tokens, appended at positions
// cache->n_past() ..., and which logits it wants back.
struct SeqBatch {
  enum class Logits { None, Last, All };
  std::span<const int32_t> tokens;
  KVCache* cache = nullptr;
  Logits logits = Logits::Last;
  // LoRA adapter bound to this model (LoraAdapter::bind), applied to this sequence's rows only:
  // y = W·x + s·B·(A·x). nullptr: the base model. Sequences of one batch may differ.
  const LoraAdapter* lora = nullptr;
};

class Model {
 public:
  // Loads a GGUF file or a Hugging Face folder. Throws rs::Error on any inconsistency.
  static std::unique_ptr<Model> load(const std::string& path);
  static std::unique_ptr<Model> from_source(std::unique_ptr<TensorSource> source);

  const HParams& hparams() const { return hp_; }
  const TensorSource& source() const { return *source_; }
  uint64_t weight_bytes() const { return weight_bytes_; }

  // Runs `tokens` at positions cache.n_past() ... through the model and appends their keys and
  // values to `cache`. Writes logits to `logits` ([n_tokens][n_vocab] when all_logits, else the
  // last position's [n_vocab]). Throws rs::Error for ids outside the vocabulary or context
  // overflow.
  // `lora`: an adapter bound to this model, or nullptr.
  void forward(std::span<const int32_t> tokens, KVCache& cache, ThreadPool* pool, Vec& logits,
               bool all_logits = false, const LoraAdapter* lora = nullptr) const;

  // Several sequences in one pass (continuous batching): every weight matrix is read once for
  // all of their tokens; attention runs per sequence against its own cache. `logits` receives
  // [rows][n_vocab], the rows of each sequence that asks for them, in batch order. A sequence's
  // results do not depend on what else is in the batch (bit for bit). Everything is validated
  // before any cache changes, so a bad sequence throws without touching the others.
  void forward_batch(std::span<const SeqBatch> seqs, ThreadPool* pool, Vec& logits) const;

  // Encoder models: pooled (per HParams::pooling) and L2-normalized embedding of `tokens`.
  // `raw` receives the pooled vector before normalization when non-null.
  Vec embed(std::span<const int32_t> tokens, ThreadPool* pool, Vec* raw = nullptr) const;

 private:
  explicit Model(std::unique_ptr<TensorSource> source);
  void bind_weights();
  // Copies the matrices the kernels read faster in the lane layout (kernels/repack.h) into
  // packed_ and lets the source drop the originals' pages (model/repack_weights.cpp).
  void repack_weights();
  // Hidden states [n_tokens][n_embd] of every token of `seqs`, in order, after the last block
  // (before the output norm).
  Vec run_blocks(std::span<const SeqBatch> seqs, ThreadPool* pool) const;
  // rope_cs: [n][n_rot] RoPE cos/sin of each token's position (kernels::rope_table), or null.
  void attention(const LayerWeights& L, int64_t layer, const float* h,
                 std::span<const SeqBatch> seqs, int64_t n, const float* rope_cs, ThreadPool* pool,
                 float* out) const;
  void ffn(const LayerWeights& L, int64_t layer, const float* h, std::span<const SeqBatch> seqs,
           int64_t n, ThreadPool* pool, float* out) const;
  // Adds each sequence's LoRA update for weight `target` of `layer` to its rows of y [n][n_out],
  // given the weight's input x [n][n_in]. No-op for sequences without an adapter.
  void lora_update(std::span<const SeqBatch> seqs, int64_t layer, lora::Target target,
                   const float* x, float* y, ThreadPool* pool) const;
  void norm(const Vec& w, const Vec& b, const float* x, float* y, int64_t n_rows) const;

  std::unique_ptr<TensorSource> source_;
  HParams hp_;
  ModelWeights w_;
  uint64_t weight_bytes_ = 0;
  AlignedBuffer packed_;  // the repacked copies of weights
};

}  // namespace rs
