#include "model/lora.h"

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/tensor_source.h"

namespace rs {

void permute_qk_rows(std::vector<float>& rows, int64_t n_heads, int64_t head_dim, int64_t row_len,
                     bool to_gguf) {
  RS_CHECK(static_cast<int64_t>(rows.size()) == n_heads * head_dim * row_len && head_dim % 2 == 0,
           "q/k permutation: {} values do not form {} heads of {} rows", rows.size(), n_heads,
           head_dim);
  std::vector<float> out(rows.size());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t gguf = h * head_dim + 2 * i + j, hf = h * head_dim + j * half + i;
        const int64_t from = to_gguf ? hf : gguf, to = to_gguf ? gguf : hf;
        std::copy_n(rows.begin() + from * row_len, row_len, out.begin() + to * row_len);
      }
  rows = std::move(out);
}

std::shared_ptr<const LoraAdapter> LoraAdapter::bind(const lora::Adapter& file, const HParams& hp,
                                                     const TensorSource& source) {
  const std::string& where = file.source;
  RS_CHECK(hp.arch && hp.generative(), "{}: LoRA adapters apply to generative models only", where);
  if (file.format == lora::Format::Gguf)
    RS_CHECK(file.architecture == hp.arch->name,
             "{}: the adapter is for architecture '{}' but the "
             "model is '{}'",
             where, file.architecture, hp.arch->name);
  // Row order of the adapter's q/k rows vs the model's: PEFT follows HF checkpoints (rotate_half);
  // a GGUF LoRA follows GGUF files of its architecture.
  const bool adapter_interleaved =
      file.format == lora::Format::Gguf
          ? find_arch(file.architecture)->rope == kernels::RopeStyle::Interleaved
          : false;
  const bool model_interleaved = hp.rope_style == kernels::RopeStyle::Interleaved;

  auto ptr = std::shared_ptr<LoraAdapter>(new LoraAdapter());
  LoraAdapter& ad = *ptr;
  ad.source_ = where;
  ad.layers_.resize(static_cast<size_t>(hp.n_layer));
  const bool fused_qkv = source.find("blk.0.attn_qkv.weight") != nullptr;
  const bool fused_ffn = source.find("blk.0.ffn_gate.weight") == nullptr;
  for (const lora::Pair& p : file.pairs) {
    using lora::Target;
    const std::string what =
        fmt::format("{}: layer {} {}", where, p.layer, lora::hf_module(p.target));
    RS_CHECK(p.layer >= 0 && p.layer < hp.n_layer, "{}: the model has only {} layers", what,
             hp.n_layer);
    const bool qkv = p.target == Target::Q || p.target == Target::K || p.target == Target::V;
    RS_CHECK(!(qkv && fused_qkv),
             "{}: this model stores q/k/v fused (attn_qkv); adapting them is not supported", what);
    RS_CHECK(!((p.target == Target::Gate || p.target == Target::Up) && fused_ffn),
             "{}: this model stores gate/up fused; adapting them is not supported", what);
    int64_t n_in = hp.n_embd, n_out = hp.n_embd;
    switch (p.target) {
      case Target::Q:
        n_out = hp.n_embd_q();
        break;
      case Target::K:
        n_out = hp.n_embd_kv();
        break;
      case Target::V:
        n_out = hp.n_embd_v();
        break;
      case Target::O:
        n_in = hp.n_head * hp.head_dim_v;
        break;
      case Target::Gate:
      case Target::Up:
        n_out = hp.n_ff;
        break;
      case Target::Down:
        n_in = hp.n_ff;
        break;
    }
    RS_CHECK(p.n_in == n_in && p.n_out == n_out,
             "{}: the adapter maps {} -> {} values but the model's "
             "weight is {} -> {} (an adapter for another base model?)",
             what, p.n_in, p.n_out, n_in, n_out);
    LoraWeight w{p.rank, p.n_in, p.n_out, p.scale, p.a, p.b};
    if ((p.target == Target::Q || p.target == Target::K) &&
        adapter_interleaved != model_interleaved) {
      const int64_t heads = p.target == Target::Q ? hp.n_head : hp.n_head_kv;
      permute_qk_rows(w.b, heads, hp.head_dim, p.rank, /*to_gguf=*/model_interleaved);
    }
    ad.layers_[static_cast<size_t>(p.layer)][static_cast<size_t>(p.target)] = std::move(w);
  }
  ad.file_ = file;
  ad.file_.pairs.clear();
  return ptr;
}

void LoraAdapter::apply(const LoraWeight& w, const float* x, int64_t n_tokens, float* y,
                        ThreadPool* pool) {
  auto work = [&](int64_t begin, int64_t end, int) {
    thread_local std::vector<float> t;  // grow-only: a decode step allocates nothing
    if (t.size() < static_cast<size_t>(w.rank)) t.resize(static_cast<size_t>(w.rank));
    for (int64_t tok = begin; tok < end; ++tok) {
      const float* xt = x + tok * w.n_in;
      for (int64_t r = 0; r < w.rank; ++r) {  // t = A·x  [rank]
        const float* a = w.a.data() + r * w.n_in;
        float s = 0;
        for (int64_t i = 0; i < w.n_in; ++i) s += a[i] * xt[i];
        t[r] = s * w.scale;
      }
      float* yt = y + tok * w.n_out;
      for (int64_t o = 0; o < w.n_out; ++o) {  // y += B·(s·t)
        const float* b = w.b.data() + o * w.rank;
        float s = 0;
        for (int64_t r = 0; r < w.rank; ++r) s += b[r] * t[r];
        yt[o] += s;
      }
    }
  };
  if (pool && n_tokens > 1)
    pool->parallel_for(n_tokens, work);
  else
    work(0, n_tokens, 0);
}

void LoraAdapter::delta_row(const LoraWeight& w, int64_t row, float* delta) {
  std::fill(delta, delta + w.n_in, 0.0f);
  const float* b = w.b.data() + row * w.rank;
  for (int64_t r = 0; r < w.rank; ++r) {
    const float c = w.scale * b[r];
    const float* a = w.a.data() + r * w.n_in;
    for (int64_t i = 0; i < w.n_in; ++i) delta[i] += c * a[i];
  }
}

}  // namespace rs
