// Per-sequence key/value cache: for each layer, K as [n_ctx][n_head_kv·head_dim] and V as
// [n_ctx][n_head_kv·head_dim_v], f32. Positions [0, n_past) are filled.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "model/hparams.h"

namespace rs {

class KVCache {
 public:
  static constexpr double kMaxGiB = 64;

  // The memory is reserved but not written: the operating system commits pages as positions
  // fill, so a server can hold many slots sized for the full context and pay only for use.
  KVCache(const HParams& hp, int64_t n_ctx)
      : n_ctx_(n_ctx), k_stride_(hp.n_embd_kv()), v_stride_(hp.n_embd_v()), n_layer_(hp.n_layer) {
    const double gib = static_cast<double>(bytes_for(hp, n_ctx)) / (1 << 30);
    RS_CHECK(n_ctx > 0 && gib <= kMaxGiB,
             "a context of {} tokens needs a {:.1f} GiB KV cache (limit {} GiB); "
             "choose a smaller --ctx-size",
             n_ctx, gib, kMaxGiB);
    k_ =
        std::make_unique_for_overwrite<float[]>(static_cast<size_t>(n_layer_ * n_ctx_ * k_stride_));
    v_ =
        std::make_unique_for_overwrite<float[]>(static_cast<size_t>(n_layer_ * n_ctx_ * v_stride_));
  }

  static uint64_t bytes_for(const HParams& hp, int64_t n_ctx) {
    return static_cast<uint64_t>(hp.n_layer) * static_cast<uint64_t>(n_ctx) *
           static_cast<uint64_t>(hp.n_embd_kv() + hp.n_embd_v()) * sizeof(float);
  }
  // Bytes of K and V per token of context (all layers).
  uint64_t bytes_per_token() const {
    return static_cast<uint64_t>(n_layer_) * static_cast<uint64_t>(k_stride_ + v_stride_) *
           sizeof(float);
  }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  void set_n_past(int64_t n) { n_past_ = n; }
  void clear() { n_past_ = 0; }

  float* k(int64_t layer, int64_t pos) { return k_.get() + (layer * n_ctx_ + pos) * k_stride_; }
  float* v(int64_t layer, int64_t pos) { return v_.get() + (layer * n_ctx_ + pos) * v_stride_; }
  const float* k(int64_t layer, int64_t pos) const {
    return k_.get() + (layer * n_ctx_ + pos) * k_stride_;
  }
  const float* v(int64_t layer, int64_t pos) const {
    return v_.get() + (layer * n_ctx_ + pos) * v_stride_;
  }
  size_t bytes() const {
    return static_cast<size_t>(n_layer_ * n_ctx_ * (k_stride_ + v_stride_)) * sizeof(float);
  }

  // Makes positions [0, n) equal to those of `src` (a cache of the same model) — a shared prompt
  // prefix computed once and reused. The K/V of a position depend only on the tokens up to it, so
  // the copy is exactly what computing them here would give.
  void copy_prefix_from(const KVCache& src, int64_t n) {
    RS_CHECK(src.k_stride_ == k_stride_ && src.v_stride_ == v_stride_ && src.n_layer_ == n_layer_ &&
                 n <= src.n_past_ && n <= n_ctx_,
             "KV prefix copy between incompatible caches");
    for (int64_t l = 0; l < n_layer_; ++l) {
      std::memcpy(k(l, 0), src.k(l, 0), static_cast<size_t>(n * k_stride_) * sizeof(float));
      std::memcpy(v(l, 0), src.v(l, 0), static_cast<size_t>(n * v_stride_) * sizeof(float));
    }
    n_past_ = n;
  }

 private:
  int64_t n_ctx_, k_stride_, v_stride_, n_layer_;
  int64_t n_past_ = 0;
  std::unique_ptr<float[]> k_, v_;
};

}  // namespace rs
