// Per-sequence key/value cache: for each layer, K as [n_ctx][n_head_kv·head_dim] and V as
// [n_ctx][n_head_kv·head_dim_v], in f32 or f16 (KvType). Positions [0, n_past) are filled.
//
// f16 halves the cache's memory and the bytes attention reads per token (with many sequences
// decoding together, attention over the caches is memory-bound), at the cost of rounding K and
// V to 11 significant bits, as llama.cpp's default cache does. f32 is exact.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "core/dtype.h"
#include "core/error.h"
#include "model/hparams.h"

namespace rs {

enum class KvType : uint8_t { F32, F16 };

inline const char* kv_type_name(KvType t) {
  return t == KvType::F16 ? "f16" : "f32";
}
inline std::optional<KvType> parse_kv_type(std::string_view s) {
  if (s == "f32") return KvType::F32;
  if (s == "f16") return KvType::F16;
  return std::nullopt;
}
inline size_t kv_type_size(KvType t) {
  return t == KvType::F16 ? 2 : 4;
}
inline DType kv_dtype(KvType t) {
  return t == KvType::F16 ? DType::F16 : DType::F32;
}

class KVCache {
 public:
  static constexpr double kMaxGiB = 64;

  // The memory is reserved but not written: the operating system commits pages as positions
  // fill, so a server can hold many slots sized for the full context and pay only for use.
  KVCache(const HParams& hp, int64_t n_ctx, KvType type = KvType::F32)
      : type_(type),
        elem_(kv_type_size(type)),
        n_ctx_(n_ctx),
        k_stride_(hp.n_embd_kv()),
        v_stride_(hp.n_embd_v()),
        n_layer_(hp.n_layer) {
    const double gib = static_cast<double>(bytes_for(hp, n_ctx, type)) / (1 << 30);
    RS_CHECK(n_ctx > 0 && gib <= kMaxGiB,
             "a context of {} tokens needs a {:.1f} GiB KV cache (limit {} GiB); "
             "choose a smaller --ctx-size",
             n_ctx, gib, kMaxGiB);
    k_ = std::make_unique_for_overwrite<std::byte[]>(layer_bytes(k_stride_) *
                                                     static_cast<size_t>(n_layer_));
    v_ = std::make_unique_for_overwrite<std::byte[]>(layer_bytes(v_stride_) *
                                                     static_cast<size_t>(n_layer_));
  }

  static uint64_t bytes_for(const HParams& hp, int64_t n_ctx, KvType type = KvType::F32) {
    return static_cast<uint64_t>(hp.n_layer) * static_cast<uint64_t>(n_ctx) *
           static_cast<uint64_t>(hp.n_embd_kv() + hp.n_embd_v()) * kv_type_size(type);
  }
  // Bytes of K and V per token of context (all layers).
  uint64_t bytes_per_token() const {
    return static_cast<uint64_t>(n_layer_) * static_cast<uint64_t>(k_stride_ + v_stride_) * elem_;
  }

  KvType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  void set_n_past(int64_t n) { n_past_ = n; }
  void clear() { n_past_ = 0; }

  // Row `pos` of layer `layer`, elements of type(); consecutive positions are k_stride() /
  // v_stride() elements apart.
  void* k(int64_t layer, int64_t pos) { return k_.get() + offset(layer, pos, k_stride_); }
  void* v(int64_t layer, int64_t pos) { return v_.get() + offset(layer, pos, v_stride_); }
  const void* k(int64_t layer, int64_t pos) const {
    return k_.get() + offset(layer, pos, k_stride_);
  }
  const void* v(int64_t layer, int64_t pos) const {
    return v_.get() + offset(layer, pos, v_stride_);
  }
  int64_t k_stride() const { return k_stride_; }
  int64_t v_stride() const { return v_stride_; }
  size_t bytes() const {
    return (layer_bytes(k_stride_) + layer_bytes(v_stride_)) * static_cast<size_t>(n_layer_);
  }

  // Makes positions [0, n) equal to those of `src` (a cache of the same model and type) — a
  // shared prompt prefix computed once and reused. The K/V of a position depend only on the
  // tokens up to it, so the copy is exactly what computing them here would give.
  void copy_prefix_from(const KVCache& src, int64_t n) {
    RS_CHECK(src.k_stride_ == k_stride_ && src.v_stride_ == v_stride_ && src.n_layer_ == n_layer_ &&
                 src.type_ == type_ && n <= src.n_past_ && n <= n_ctx_,
             "KV prefix copy between incompatible caches");
    for (int64_t l = 0; l < n_layer_; ++l) {
      std::memcpy(k(l, 0), src.k(l, 0), static_cast<size_t>(n * k_stride_) * elem_);
      std::memcpy(v(l, 0), src.v(l, 0), static_cast<size_t>(n * v_stride_) * elem_);
    }
    n_past_ = n;
  }

 private:
  size_t layer_bytes(int64_t stride) const { return static_cast<size_t>(n_ctx_ * stride) * elem_; }
  size_t offset(int64_t layer, int64_t pos, int64_t stride) const {
    return static_cast<size_t>((layer * n_ctx_ + pos) * stride) * elem_;
  }

  KvType type_;
  size_t elem_;
  int64_t n_ctx_, k_stride_, v_stride_, n_layer_;
  int64_t n_past_ = 0;
  std::unique_ptr<std::byte[]> k_, v_;
};

}  // namespace rs
