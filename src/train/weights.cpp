#include "train/weights.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/quant.h"
#include "model/lora.h"
#include "model/tensor_source.h"

namespace rs::train {
namespace {

// All values of a tensor as T, checking its shape ne = [n_in, n_out] (n_out = 1 for vectors).
template <typename T>
std::vector<T> read(const TensorSource& src, const std::string& name, int64_t n_in, int64_t n_out,
                    bool required = true) {
  const TensorRef* t = src.find(name);
  if (!t) {
    RS_CHECK(!required, "{}: tensor '{}' is missing", src.describe(), name);
    return {};
  }
  const int64_t rows = t->ne.size() >= 2 ? t->ne[1] : 1;
  RS_CHECK(t->ne[0] == n_in && rows == n_out, "{}: tensor '{}' has shape [{}], expected [{}, {}]",
           src.describe(), name, fmt::join(t->ne, ", "), n_in, n_out);
  RS_CHECK(kernels::is_supported(t->type), "{}: tensor '{}' has unsupported type {}",
           src.describe(), name, dtype_name(t->type));
  const size_t rb = row_bytes(dtype_info(t->type), static_cast<uint64_t>(n_in));
  std::vector<float> row(static_cast<size_t>(n_in));
  std::vector<T> out(static_cast<size_t>(n_in * n_out));
  for (int64_t r = 0; r < n_out; ++r) {
    kernels::dequantize_row(t->type, t->data + r * rb, row.data(), n_in);
    std::copy(row.begin(), row.end(), out.begin() + r * n_in);
  }
  return out;
}

std::string blk(int64_t l, const char* n) {
  return "blk." + std::to_string(l) + "." + n;
}

}  // namespace

std::pair<int64_t, int64_t> target_shape(const HParams& hp, lora::Target t) {
  using lora::Target;
  switch (t) {
    case Target::Q:
      return {hp.n_embd, hp.n_embd_q()};
    case Target::K:
      return {hp.n_embd, hp.n_embd_kv()};
    case Target::V:
      return {hp.n_embd, hp.n_embd_v()};
    case Target::O:
      return {hp.n_head * hp.head_dim_v, hp.n_embd};
    case Target::Gate:
    case Target::Up:
      return {hp.n_embd, hp.n_ff};
    case Target::Down:
      return {hp.n_ff, hp.n_embd};
  }
  return {0, 0};
}

template <typename T>
BaseWeights<T> BaseWeights<T>::load(const TensorSource& src, const HParams& hp) {
  RS_CHECK(hp.arch && hp.arch->norm == NormKind::RMS && hp.arch->ffn == FfnKind::SiluGated &&
               hp.causal && !hp.arch->embd_scale_sqrt && hp.attn_softcap == 0 &&
               hp.final_softcap == 0,
           "{}: fine-tuning supports llama-family models (RMSNorm, SwiGLU, RoPE); this one is '{}'",
           src.describe(), hp.arch ? hp.arch->name : "?");
  RS_CHECK(!src.find("blk.0.attn_qkv.weight") && src.find("blk.0.ffn_gate.weight"),
           "{}: fused q/k/v or gate/up weights (phi3) are not supported for fine-tuning",
           src.describe());
  RS_CHECK(hp.head_dim == hp.head_dim_v && hp.n_rot == hp.head_dim && hp.sliding_window == 0,
           "{}: fine-tuning needs full RoPE, equal key/value head sizes and no sliding window",
           src.describe());
  BaseWeights w;
  w.hp = hp;
  const int64_t E = hp.n_embd, V = hp.n_vocab, Q = hp.n_embd_q(), KV = hp.n_embd_kv(), F = hp.n_ff;
  w.embd = read<T>(src, "token_embd.weight", E, V);
  w.out_norm = read<T>(src, "output_norm.weight", E, 1);
  w.output = src.find("output.weight") ? read<T>(src, "output.weight", E, V) : w.embd;
  if (src.find("rope_freqs.weight"))
    w.rope_freqs = read<float>(src, "rope_freqs.weight", hp.n_rot / 2, 1);
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    LayerParams<T> L;
    L.attn_norm = read<T>(src, blk(l, "attn_norm.weight"), E, 1);
    L.ffn_norm = read<T>(src, blk(l, "ffn_norm.weight"), E, 1);
    L.wq = read<T>(src, blk(l, "attn_q.weight"), E, Q);
    L.wk = read<T>(src, blk(l, "attn_k.weight"), E, KV);
    L.wv = read<T>(src, blk(l, "attn_v.weight"), E, KV);
    L.wo = read<T>(src, blk(l, "attn_output.weight"), Q, E);
    L.bq = read<T>(src, blk(l, "attn_q.bias"), Q, 1, false);
    L.bk = read<T>(src, blk(l, "attn_k.bias"), KV, 1, false);
    L.bv = read<T>(src, blk(l, "attn_v.bias"), KV, 1, false);
    RS_CHECK(!src.find(blk(l, "attn_output.bias")) && !src.find(blk(l, "ffn_down.bias")),
             "{}: output/FFN biases are not supported for fine-tuning", src.describe());
    L.wg = read<T>(src, blk(l, "ffn_gate.weight"), E, F);
    L.wu = read<T>(src, blk(l, "ffn_up.weight"), E, F);
    L.wd = read<T>(src, blk(l, "ffn_down.weight"), F, E);
    w.layers.push_back(std::move(L));
  }
  return w;
}

template <typename T>
LoraSet<T> LoraSet<T>::init(const HParams& hp, const std::vector<lora::Target>& targets,
                            int64_t rank, double alpha, bool use_rslora, uint64_t seed) {
  RS_CHECK(rank > 0, "the LoRA rank must be positive (got {})", rank);
  RS_CHECK(!targets.empty(), "no LoRA targets given");
  LoraSet s;
  s.layers.resize(static_cast<size_t>(hp.n_layer));
  // mt19937_64 is fully specified by the standard, and the uniform mapping below is ours, so the
  // same seed gives the same A on every platform (std::uniform_real_distribution is not portable).
  std::mt19937_64 rng(seed);
  const T scale = static_cast<T>(lora::peft_scale(alpha, rank, use_rslora));
  for (int64_t l = 0; l < hp.n_layer; ++l)
    for (lora::Target t : targets) {
      auto [n_in, n_out] = target_shape(hp, t);
      LoraTensor<T>& x = s.layers[static_cast<size_t>(l)][static_cast<size_t>(t)];
      x.rank = rank;
      x.n_in = n_in;
      x.n_out = n_out;
      x.scale = scale;
      x.a.resize(static_cast<size_t>(rank * n_in));
      const double bound = 1.0 / std::sqrt(static_cast<double>(n_in));
      for (auto& v : x.a) {
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        v = static_cast<T>((2 * u - 1) * bound);
      }
      x.b.assign(static_cast<size_t>(n_out * rank), T(0));
      x.ga.assign(x.a.size(), T(0));
      x.gb.assign(x.b.size(), T(0));
    }
  return s;
}

template <typename T>
LoraSet<T> LoraSet<T>::from_adapter(const lora::Adapter& ad, const HParams& hp,
                                    bool model_interleaved) {
  LoraSet s;
  s.layers.resize(static_cast<size_t>(hp.n_layer));
  const bool file_interleaved = ad.format == lora::Format::Gguf &&
                                find_arch(ad.architecture)->rope == kernels::RopeStyle::Interleaved;
  for (const lora::Pair& p : ad.pairs) {
    RS_CHECK(p.layer >= 0 && p.layer < hp.n_layer, "{}: layer {} is outside the model", ad.source,
             p.layer);
    auto [n_in, n_out] = target_shape(hp, p.target);
    RS_CHECK(p.n_in == n_in && p.n_out == n_out,
             "{}: layer {} {} has shape {} -> {}, the model {} -> {}", ad.source, p.layer,
             lora::hf_module(p.target), p.n_in, p.n_out, n_in, n_out);
    LoraTensor<T>& x = s.layers[static_cast<size_t>(p.layer)][static_cast<size_t>(p.target)];
    x.rank = p.rank;
    x.n_in = n_in;
    x.n_out = n_out;
    x.scale = static_cast<T>(p.scale);
    std::vector<float> b = p.b;
    if ((p.target == lora::Target::Q || p.target == lora::Target::K) &&
        file_interleaved != model_interleaved)
      permute_qk_rows(b, p.target == lora::Target::Q ? hp.n_head : hp.n_head_kv, hp.head_dim,
                      p.rank, model_interleaved);
    x.a.assign(p.a.begin(), p.a.end());
    x.b.assign(b.begin(), b.end());
    x.ga.assign(x.a.size(), T(0));
    x.gb.assign(x.b.size(), T(0));
  }
  return s;
}

template <typename T>
lora::Adapter LoraSet<T>::to_adapter(const HParams& hp, bool model_interleaved,
                                     bool want_interleaved) const {
  lora::Adapter ad;
  for (size_t l = 0; l < layers.size(); ++l)
    for (int ti = 0; ti < lora::kNumTargets; ++ti) {
      const LoraTensor<T>& x = layers[l][static_cast<size_t>(ti)];
      if (!x) continue;
      lora::Pair p;
      p.layer = static_cast<int64_t>(l);
      p.target = static_cast<lora::Target>(ti);
      p.rank = x.rank;
      p.n_in = x.n_in;
      p.n_out = x.n_out;
      p.scale = static_cast<float>(x.scale);
      p.a.assign(x.a.begin(), x.a.end());
      p.b.assign(x.b.begin(), x.b.end());
      if ((p.target == lora::Target::Q || p.target == lora::Target::K) &&
          want_interleaved != model_interleaved)
        permute_qk_rows(p.b, p.target == lora::Target::Q ? hp.n_head : hp.n_head_kv, hp.head_dim,
                        p.rank, want_interleaved);
      ad.rank = std::max(ad.rank, p.rank);
      if (std::find(ad.targets.begin(), ad.targets.end(), p.target) == ad.targets.end())
        ad.targets.push_back(p.target);
      ad.pairs.push_back(std::move(p));
    }
  std::sort(ad.targets.begin(), ad.targets.end());
  return ad;
}

template <typename T>
void LoraSet<T>::zero_grad() {
  for (auto& layer : layers)
    for (auto& t : layer) {
      std::fill(t.ga.begin(), t.ga.end(), T(0));
      std::fill(t.gb.begin(), t.gb.end(), T(0));
    }
}

template <typename T>
int64_t LoraSet<T>::n_params() const {
  int64_t n = 0;
  for (const auto& layer : layers)
    for (const auto& t : layer) n += static_cast<int64_t>(t.a.size() + t.b.size());
  return n;
}

template struct BaseWeights<float>;
template struct BaseWeights<double>;
template struct LoraSet<float>;
template struct LoraSet<double>;

}  // namespace rs::train
