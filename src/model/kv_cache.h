// Per-sequence key/value cache: for each layer, K as [n_ctx][n_head_kv·head_dim] and V as
// [n_ctx][n_head_kv·head_dim_v], f32. Positions [0, n_past) are filled.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "model/hparams.h"

namespace rs {

class KVCache {
 public:
  static constexpr double kMaxGiB = 64;

  KVCache(const HParams& hp, int64_t n_ctx)
      : n_ctx_(n_ctx), k_stride_(hp.n_embd_kv()), v_stride_(hp.n_embd_v()), n_layer_(hp.n_layer) {
    const double gib = static_cast<double>(n_layer_) * n_ctx_ * (k_stride_ + v_stride_) * 4 / (1 << 30);
    RS_CHECK(n_ctx > 0 && gib <= kMaxGiB, "a context of {} tokens needs a {:.1f} GiB KV cache (limit {} GiB); "
             "choose a smaller --ctx-size", n_ctx, gib, kMaxGiB);
    k_.assign(static_cast<size_t>(n_layer_ * n_ctx_ * k_stride_), 0.0f);
    v_.assign(static_cast<size_t>(n_layer_ * n_ctx_ * v_stride_), 0.0f);
  }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  void set_n_past(int64_t n) { n_past_ = n; }
  void clear() { n_past_ = 0; }

  float* k(int64_t layer, int64_t pos) { return k_.data() + (layer * n_ctx_ + pos) * k_stride_; }
  float* v(int64_t layer, int64_t pos) { return v_.data() + (layer * n_ctx_ + pos) * v_stride_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  int64_t n_ctx_, k_stride_, v_stride_, n_layer_;
  int64_t n_past_ = 0;
  std::vector<float> k_, v_;
};

}  // namespace rs
