#include "model/model.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/quant.h"
#include "kernels/vec_math.h"
#include "model/lora.h"

namespace rs {
namespace {

std::string blk(int64_t l, const char* name) {
  return "blk." + std::to_string(l) + "." + name;
}

// Grow-only per-thread work buffers, so a decode step allocates nothing once warmed up.
enum Slot {
  kQ,
  kK,
  kV,
  kQKV,
  kAttnOut,
  kScores,
  kAct,
  kGate,
  kBoth,
  kH,
  kOut,
  kNormed,
  kRope,
  kSlots
};
float* scratch(Slot slot, int64_t n) {
  thread_local std::vector<float> bufs[kSlots];
  auto& b = bufs[slot];
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path) {
  return from_source(open_tensor_source(path));
}

std::unique_ptr<Model> Model::from_source(std::unique_ptr<TensorSource> source) {
  std::unique_ptr<Model> m(new Model(std::move(source)));
  m->bind_weights();
  m->repack_weights();
  return m;
}

Model::Model(std::unique_ptr<TensorSource> source)
    : source_(std::move(source)), hp_(source_->hparams()) {}

void Model::bind_weights() {
  const TensorSource& src = *source_;
  const std::string where = src.describe();

  // A 2-D weight: ne must be [n_in, n_out] (n_out may be left open with -1).
  auto matrix = [&](const std::string& name, int64_t n_in, int64_t n_out,
                    bool required) -> WeightView {
    const TensorRef* t = src.find(name);
    if (!t) {
      RS_CHECK(!required, "{}: tensor '{}' is missing", where, name);
      return {};
    }
    RS_CHECK(kernels::is_supported(t->type),
             "{}: tensor '{}' has type {}, which rightsize cannot compute with yet", where, name,
             dtype_name(t->type));
    const int64_t rows = t->ne.size() >= 2 ? t->ne[1] : 1;
    RS_CHECK(t->ne.size() <= 2 && t->ne[0] == n_in && (n_out < 0 || rows == n_out),
             "{}: tensor '{}' has shape [{}], expected [{}, {}]", where, name,
             fmt::join(t->ne, ", "), n_in, n_out);
    const auto& info = dtype_info(t->type);
    WeightView w{t->type, n_in, rows, t->data, row_bytes(info, static_cast<uint64_t>(n_in)),
                 kernels::WeightLayout::Rows};
    RS_CHECK(w.row_bytes * static_cast<size_t>(rows) == t->nbytes, "{}: tensor '{}' size mismatch",
             where, name);
    weight_bytes_ += t->nbytes;
    return w;
  };
  // A 1-D parameter vector of n values, as f32.
  auto vec = [&](const std::string& name, int64_t n, bool required) -> Vec {
    const TensorRef* t = src.find(name);
    if (!t) {
      RS_CHECK(!required, "{}: tensor '{}' is missing", where, name);
      return {};
    }
    RS_CHECK(t->ne.size() == 1 && t->ne[0] == n, "{}: tensor '{}' has shape [{}], expected [{}]",
             where, name, fmt::join(t->ne, ", "), n);
    RS_CHECK(kernels::is_supported(t->type), "{}: tensor '{}' has unsupported type {}", where, name,
             dtype_name(t->type));
    Vec v(static_cast<size_t>(n));
    kernels::dequantize_row(t->type, t->data, v.data(), n);
    weight_bytes_ += t->nbytes;
    return v;
  };

  const HParams& hp = hp_;
  hp_.validate();
  const bool is_bert = hp.arch->ffn == FfnKind::Gelu;
  w_.token_embd = matrix("token_embd.weight", hp.n_embd, -1, true);
  if (hp_.n_vocab == 0) hp_.n_vocab = w_.token_embd.n_out;
  RS_CHECK(w_.token_embd.n_out == hp_.n_vocab,
           "{}: token_embd has {} rows but the vocabulary has {} tokens", where,
           w_.token_embd.n_out, hp_.n_vocab);
  if (is_bert) {
    w_.position_embd = matrix("position_embd.weight", hp.n_embd, -1, true);
    w_.token_types = matrix("token_types.weight", hp.n_embd, -1, false);
    w_.embd_norm = vec("token_embd_norm.weight", hp.n_embd, true);
    w_.embd_norm_b = vec("token_embd_norm.bias", hp.n_embd, false);
  } else {
    w_.output_norm = vec("output_norm.weight", hp.n_embd, true);
    w_.output_norm_b = vec("output_norm.bias", hp.n_embd, false);
    w_.output = matrix("output.weight", hp.n_embd, hp_.n_vocab, false);
  }
  if (src.find("rope_freqs.weight")) w_.rope_freqs = vec("rope_freqs.weight", hp.n_rot / 2, true);

  const int64_t nq = hp.n_embd_q(), nkv = hp.n_embd_kv(), nv = hp.n_embd_v();
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    LayerWeights L;
    if (src.find(blk(l, "attn_qkv.weight"))) {
      L.wqkv = matrix(blk(l, "attn_qkv.weight"), hp.n_embd, nq + nkv + nv, true);
    } else {
      L.wq = matrix(blk(l, "attn_q.weight"), hp.n_embd, nq, true);
      L.wk = matrix(blk(l, "attn_k.weight"), hp.n_embd, nkv, true);
      L.wv = matrix(blk(l, "attn_v.weight"), hp.n_embd, nv, true);
      L.bq = vec(blk(l, "attn_q.bias"), nq, false);
      L.bk = vec(blk(l, "attn_k.bias"), nkv, false);
      L.bv = vec(blk(l, "attn_v.bias"), nv, false);
    }
    L.wo = matrix(blk(l, "attn_output.weight"), hp.n_head * hp.head_dim_v, hp.n_embd, true);
    L.bo = vec(blk(l, "attn_output.bias"), hp.n_embd, false);
    if (is_bert) {
      L.attn_out_norm = vec(blk(l, "attn_output_norm.weight"), hp.n_embd, true);
      L.attn_out_norm_b = vec(blk(l, "attn_output_norm.bias"), hp.n_embd, false);
      L.out_norm = vec(blk(l, "layer_output_norm.weight"), hp.n_embd, true);
      L.out_norm_b = vec(blk(l, "layer_output_norm.bias"), hp.n_embd, false);
      L.up = matrix(blk(l, "ffn_up.weight"), hp.n_embd, hp.n_ff, true);
      L.up_b = vec(blk(l, "ffn_up.bias"), hp.n_ff, false);
    } else {
      L.attn_norm = vec(blk(l, "attn_norm.weight"), hp.n_embd, true);
      L.ffn_norm = vec(blk(l, "ffn_norm.weight"), hp.n_embd, true);
      L.post_attn_norm = vec(blk(l, "post_attention_norm.weight"), hp.n_embd, false);
      L.post_ffn_norm = vec(blk(l, "post_ffw_norm.weight"), hp.n_embd, false);
      if (src.find(blk(l, "ffn_gate.weight"))) {
        L.gate = matrix(blk(l, "ffn_gate.weight"), hp.n_embd, hp.n_ff, true);
        L.up = matrix(blk(l, "ffn_up.weight"), hp.n_embd, hp.n_ff, true);
      } else {  // fused [gate; up] (phi3)
        L.up = matrix(blk(l, "ffn_up.weight"), hp.n_embd, 2 * hp.n_ff, true);
      }
    }
    L.down = matrix(blk(l, "ffn_down.weight"), hp.n_ff, hp.n_embd, true);
    L.down_b = vec(blk(l, "ffn_down.bias"), hp.n_embd, false);
    w_.layers.push_back(std::move(L));
  }
}

void Model::norm(const Vec& w, const Vec& b, const float* x, float* y, int64_t n_rows) const {
  const int64_t n = hp_.n_embd;
  for (int64_t t = 0; t < n_rows; ++t) {
    if (hp_.arch->norm == NormKind::RMS)
      kernels::rms_norm(x + t * n, w.data(), y + t * n, n, hp_.norm_eps);
    else
      kernels::layer_norm(x + t * n, w.data(), b.empty() ? nullptr : b.data(), y + t * n, n,
                          hp_.norm_eps);
  }
}

void Model::attention(const LayerWeights& L, int64_t layer, const float* h,
                      std::span<const SeqBatch> seqs, int64_t n, const float* rope_cs,
                      ThreadPool* pool, float* out) const {
  const HParams& hp = hp_;
  const int64_t nq = hp.n_embd_q(), nkv = hp.n_embd_kv(), nv = hp.n_embd_v();
  float* q = scratch(kQ, n * nq);
  float* k = scratch(kK, n * nkv);
  float* v = scratch(kV, n * nv);
  if (L.wqkv) {
    float* qkv = scratch(kQKV, n * (nq + nkv + nv));
    kernels::matmul(L.wqkv, h, n, qkv, nullptr, pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = qkv + t * (nq + nkv + nv);
      std::copy(row, row + nq, q + t * nq);
      std::copy(row + nq, row + nq + nkv, k + t * nkv);
      std::copy(row + nq + nkv, row + nq + nkv + nv, v + t * nv);
    }
  } else {
    auto bias = [](const Vec& b) { return b.empty() ? nullptr : b.data(); };
    const kernels::MatmulOut qkv[] = {
        {&L.wq, q, bias(L.bq)}, {&L.wk, k, bias(L.bk)}, {&L.wv, v, bias(L.bv)}};
    kernels::matmul_multi(qkv, h, n, pool);
    lora_update(seqs, layer, lora::Target::Q, h, q, pool);
    lora_update(seqs, layer, lora::Target::K, h, k, pool);
    lora_update(seqs, layer, lora::Target::V, h, v, pool);
  }

  // Token i of the batch belongs to sequence seq_of[i] at position pos_of[i] of its cache.
  // (Plain pointers below: the pool's workers must read this thread's buffers, not their own.)
  thread_local std::vector<int32_t> seq_buf;
  thread_local std::vector<int64_t> pos_buf;
  seq_buf.resize(static_cast<size_t>(n));
  pos_buf.resize(static_cast<size_t>(n));
  int32_t* seq_of = seq_buf.data();
  int64_t* pos_of = pos_buf.data();
  int64_t max_total = 0;
  for (int64_t i = 0, s = 0; s < static_cast<int64_t>(seqs.size()); ++s) {
    const int64_t pos0 = seqs[s].cache->n_past();
    for (size_t t = 0; t < seqs[s].tokens.size(); ++t, ++i) {
      seq_of[i] = static_cast<int32_t>(s);
      pos_of[i] = pos0 + static_cast<int64_t>(t);
    }
    max_total = std::max(max_total, pos0 + static_cast<int64_t>(seqs[s].tokens.size()));
  }

  for (int64_t t = 0; t < n; ++t) {
    const int64_t p = pos_of[t];
    if (hp.n_rot > 0) {
      const float* cs = rope_cs + t * hp.n_rot;
      for (int64_t hd = 0; hd < hp.n_head; ++hd)
        kernels::rope_apply(q + t * nq + hd * hp.head_dim, static_cast<int>(hp.n_rot), cs,
                            hp.rope_style);
      for (int64_t hd = 0; hd < hp.n_head_kv; ++hd)
        kernels::rope_apply(k + t * nkv + hd * hp.head_dim, static_cast<int>(hp.n_rot), cs,
                            hp.rope_style);
    }
    KVCache& cache = *seqs[seq_of[t]].cache;
    const DType kv = kv_dtype(cache.type());
    kernels::quantize_row(kv, k + t * nkv, cache.k(layer, p), nkv);
    kernels::quantize_row(kv, v + t * nv, cache.v(layer, p), nv);
  }

  // Scores for query position p against key j of the same sequence: q·k / sqrt(head_dim),
  // soft-capped when the model says so, masked (causal, sliding window), softmax, then the
  // weighted sum of values. Keys run over the sequence's whole cache up to its last new token,
  // so a token's result is the same whether it came alone or with others.
  const int64_t group = hp.n_head / hp.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));
  const bool swa = hp.layer_uses_swa(layer);
  float* attn_out = scratch(kAttnOut, n * hp.n_head * hp.head_dim_v);
  // One job per (key/value head, token), head-major: the query heads of a group share their
  // keys and values, and contiguous runs of jobs (one per thread) mix early and late positions
  // alike, so causal attention's growing cost splits evenly between threads.
  auto work = [&](int64_t begin, int64_t end, int) {
    float* scores = scratch(kScores, group * max_total);  // this worker's own buffer
    for (int64_t job = begin; job < end; ++job) {
      const int64_t g = job / n, t = job % n;
      const SeqBatch& sb = seqs[seq_of[t]];
      const KVCache& cache = *sb.cache;
      const int64_t n_total = cache.n_past() + static_cast<int64_t>(sb.tokens.size());
      const int64_t p = pos_of[t];
      kernels::AttendArgs a;
      a.q = q + t * nq + g * group * hp.head_dim;
      a.q_stride = hp.head_dim;
      a.n_q = static_cast<int>(group);
      const size_t elem = kv_type_size(cache.type());
      a.k = static_cast<const std::byte*>(cache.k(layer, 0)) + g * hp.head_dim * elem;
      a.k_stride = cache.k_stride();
      a.v = static_cast<const std::byte*>(cache.v(layer, 0)) + g * hp.head_dim_v * elem;
      a.v_stride = cache.v_stride();
      a.kv_f16 = cache.type() == KvType::F16;
      a.j0 = swa ? std::max<int64_t>(0, p - hp.sliding_window + 1) : 0;
      a.j1 = hp.causal ? p + 1 : n_total;
      a.head_dim = hp.head_dim;
      a.head_dim_v = hp.head_dim_v;
      a.scale = scale;
      a.softcap = hp.attn_softcap;
      a.out = attn_out + (t * hp.n_head + g * group) * hp.head_dim_v;
      a.o_stride = hp.head_dim_v;
      a.scores = scores;
      kernels::attend(a);
    }
  };
  if (pool)
    pool->parallel_for(n * hp.n_head_kv, work);
  else
    work(0, n * hp.n_head_kv, 0);
  kernels::matmul(L.wo, attn_out, n, out, L.bo.empty() ? nullptr : L.bo.data(), pool);
  lora_update(seqs, layer, lora::Target::O, attn_out, out, pool);
}

void Model::lora_update(std::span<const SeqBatch> seqs, int64_t layer, lora::Target target,
                        const float* x, float* y, ThreadPool* pool) const {
  int64_t row = 0;
  for (const SeqBatch& sb : seqs) {
    const auto m = static_cast<int64_t>(sb.tokens.size());
    if (const LoraWeight* w = sb.lora ? sb.lora->get(layer, target) : nullptr)
      LoraAdapter::apply(*w, x + row * w->n_in, m, y + row * w->n_out, pool);
    row += m;
  }
}

void Model::ffn(const LayerWeights& L, int64_t layer, const float* h,
                std::span<const SeqBatch> seqs, int64_t n, ThreadPool* pool, float* out) const {
  const int64_t n_ff = hp_.n_ff;
  float* act = scratch(kAct, n * n_ff);
  switch (hp_.arch->ffn) {
    case FfnKind::Gelu: {
      kernels::matmul(L.up, h, n, act, L.up_b.empty() ? nullptr : L.up_b.data(), pool);
      for (int64_t i = 0; i < n * n_ff; ++i) act[i] = kernels::gelu_tanh(act[i]);
      break;
    }
    case FfnKind::SiluGated:
    case FfnKind::GeluGated: {
      const bool silu = hp_.arch->ffn == FfnKind::SiluGated;
      float* gate = scratch(kGate, n * n_ff);
      if (L.gate) {
        const kernels::MatmulOut gate_up[] = {{&L.gate, gate, nullptr}, {&L.up, act, nullptr}};
        kernels::matmul_multi(gate_up, h, n, pool);
        lora_update(seqs, layer, lora::Target::Gate, h, gate, pool);
        lora_update(seqs, layer, lora::Target::Up, h, act, pool);
      } else {  // fused: each output row holds [gate (n_ff) | up (n_ff)]
        float* both = scratch(kBoth, n * 2 * n_ff);
        kernels::matmul(L.up, h, n, both, nullptr, pool);
        for (int64_t t = 0; t < n; ++t) {
          std::copy(both + t * 2 * n_ff, both + t * 2 * n_ff + n_ff, gate + t * n_ff);
          std::copy(both + t * 2 * n_ff + n_ff, both + (t + 1) * 2 * n_ff, act + t * n_ff);
        }
      }
      // Element-wise, one exp per value: worth splitting between threads for batches.
      auto activate = [&](int64_t b, int64_t e, int) {
        if (silu) {
          kernels::silu_mul(act + b * n_ff, gate + b * n_ff, (e - b) * n_ff);
          return;
        }
        for (int64_t i = b * n_ff; i < e * n_ff; ++i) act[i] *= kernels::gelu_tanh(gate[i]);
      };
      if (pool && n >= 4)
        pool->parallel_for(n, activate);
      else
        activate(0, n, 0);
      break;
    }
  }
  kernels::matmul(L.down, act, n, out, L.down_b.empty() ? nullptr : L.down_b.data(), pool);
  lora_update(seqs, layer, lora::Target::Down, act, out, pool);
}

Vec Model::run_blocks(std::span<const SeqBatch> seqs, ThreadPool* pool) const {
  const HParams& hp = hp_;
  const int64_t E = hp.n_embd;
  int64_t n = 0;
  RS_CHECK(!seqs.empty(), "nothing to evaluate: the batch is empty");
  for (size_t s = 0; s < seqs.size(); ++s) {
    const SeqBatch& sb = seqs[s];
    RS_CHECK(sb.cache && !sb.tokens.empty(), "nothing to evaluate: the token list is empty");
    for (size_t o = 0; o < s; ++o)
      RS_CHECK(seqs[o].cache != sb.cache, "a batch names the same KV cache twice");
    const int64_t pos0 = sb.cache->n_past(), m = static_cast<int64_t>(sb.tokens.size());
    RS_CHECK(pos0 + m <= sb.cache->n_ctx(),
             "context overflow: {} tokens already in the context plus {} new exceed its size {} "
             "(raise --ctx-size, up to the model's {}, or shorten the prompt)",
             pos0, m, sb.cache->n_ctx(), hp.n_ctx_train);
    for (int32_t id : sb.tokens)
      RS_CHECK(id >= 0 && id < hp.n_vocab, "token id {} is outside the vocabulary [0, {})", id,
               hp.n_vocab);
    RS_CHECK(!sb.lora || sb.lora->n_layer() == hp.n_layer,
             "LoRA adapter '{}' was bound to a model with {} layers, this one has {}",
             sb.lora ? sb.lora->source() : "", sb.lora ? sb.lora->n_layer() : 0, hp.n_layer);
    if (w_.position_embd)
      RS_CHECK(pos0 + m <= w_.position_embd.n_out,
               "input of {} tokens exceeds the model's {} positions", pos0 + m,
               w_.position_embd.n_out);
    n += m;
  }

  Vec x(static_cast<size_t>(n * E));
  {
    int64_t i = 0;
    Vec row(w_.position_embd ? static_cast<size_t>(E) : 0);
    for (const SeqBatch& sb : seqs) {
      const int64_t pos0 = sb.cache->n_past();
      for (size_t t = 0; t < sb.tokens.size(); ++t, ++i) {
        float* xi = x.data() + i * E;
        kernels::get_row(w_.token_embd, sb.tokens[t], xi);
        if (!w_.position_embd) continue;
        // bert: absolute positions and token type 0
        kernels::get_row(w_.position_embd, pos0 + static_cast<int64_t>(t), row.data());
        for (int64_t e = 0; e < E; ++e) xi[e] += row[e];
        if (w_.token_types) {
          kernels::get_row(w_.token_types, 0, row.data());
          for (int64_t e = 0; e < E; ++e) xi[e] += row[e];
        }
      }
    }
  }
  if (hp.arch->embd_scale_sqrt) {
    const float s = std::sqrt(static_cast<float>(E));
    for (auto& v : x) v *= s;
  }
  if (!w_.embd_norm.empty()) norm(w_.embd_norm, w_.embd_norm_b, x.data(), x.data(), n);

  // RoPE's cos/sin table of each token's position, [n][n_rot]: the same for every layer.
  float* rope_cs = hp.n_rot > 0 ? scratch(kRope, n * hp.n_rot) : nullptr;
  if (rope_cs) {
    const float* freqs = w_.rope_freqs.empty() ? nullptr : w_.rope_freqs.data();
    for (int64_t i = 0; const SeqBatch& sb : seqs)
      for (size_t t = 0; t < sb.tokens.size(); ++t, ++i)
        kernels::rope_table(static_cast<int>(hp.n_rot),
                            sb.cache->n_past() + static_cast<int64_t>(t), hp.rope_base, freqs,
                            rope_cs + i * hp.n_rot);
  }

  float* h = scratch(kH, n * E);
  float* out = scratch(kOut, n * E);
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const LayerWeights& L = w_.layers[l];
    // Attention sub-block: pre-norm (llama family) or none (bert, post-norm after the residual).
    const float* in = x.data();
    if (!L.attn_norm.empty()) {
      norm(L.attn_norm, {}, x.data(), h, n);
      in = h;
    }
    attention(L, l, in, seqs, n, rope_cs, pool, out);
    if (!L.post_attn_norm.empty()) norm(L.post_attn_norm, {}, out, out, n);
    for (size_t i = 0; i < x.size(); ++i) x[i] += out[i];
    if (!L.attn_out_norm.empty()) norm(L.attn_out_norm, L.attn_out_norm_b, x.data(), x.data(), n);

    // Feed-forward sub-block, same pattern.
    in = x.data();
    if (!L.ffn_norm.empty()) {
      norm(L.ffn_norm, {}, x.data(), h, n);
      in = h;
    }
    ffn(L, l, in, seqs, n, pool, out);
    if (!L.post_ffn_norm.empty()) norm(L.post_ffn_norm, {}, out, out, n);
    for (size_t i = 0; i < x.size(); ++i) x[i] += out[i];
    if (!L.out_norm.empty()) norm(L.out_norm, L.out_norm_b, x.data(), x.data(), n);
  }
  for (const SeqBatch& sb : seqs)
    sb.cache->set_n_past(sb.cache->n_past() + static_cast<int64_t>(sb.tokens.size()));
  return x;
}

void Model::forward(std::span<const int32_t> tokens, KVCache& cache, ThreadPool* pool, Vec& logits,
                    bool all_logits, const LoraAdapter* lora) const {
  const SeqBatch one{tokens, &cache, all_logits ? SeqBatch::Logits::All : SeqBatch::Logits::Last,
                     lora};
  forward_batch({&one, 1}, pool, logits);
}

void Model::forward_batch(std::span<const SeqBatch> seqs, ThreadPool* pool, Vec& logits) const {
  RS_CHECK(hp_.generative(), "this is an embedding model ({}); use `rightsize embed`",
           hp_.arch->name);
  Vec x = run_blocks(seqs, pool);
  const int64_t E = hp_.n_embd;
  // Gather the hidden states whose logits are wanted: [rows][n_embd].
  thread_local Vec wanted;
  wanted.clear();
  int64_t i = 0, rows = 0;
  for (const SeqBatch& sb : seqs) {
    const auto m = static_cast<int64_t>(sb.tokens.size());
    const int64_t first = sb.logits == SeqBatch::Logits::All ? 0 : m - 1;
    if (sb.logits != SeqBatch::Logits::None) {
      wanted.insert(wanted.end(), x.begin() + (i + first) * E, x.begin() + (i + m) * E);
      rows += m - first;
    }
    i += m;
  }
  logits.resize(static_cast<size_t>(rows * hp_.n_vocab));
  if (rows == 0) return;
  float* normed = scratch(kNormed, rows * E);
  norm(w_.output_norm, w_.output_norm_b, wanted.data(), normed, rows);
  const WeightView& out = w_.output ? w_.output : w_.token_embd;
  kernels::matmul(out, normed, rows, logits.data(), nullptr, pool);
  if (hp_.final_softcap > 0)
    kernels::softcap(logits.data(), static_cast<int64_t>(logits.size()), hp_.final_softcap);
}

Vec Model::embed(std::span<const int32_t> tokens, ThreadPool* pool, Vec* raw) const {
  KVCache cache(hp_, static_cast<int64_t>(tokens.size()));
  const SeqBatch one{tokens, &cache, SeqBatch::Logits::None};
  Vec x = run_blocks({&one, 1}, pool);
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t E = hp_.n_embd;
  Vec pooled(static_cast<size_t>(E), 0.0f);
  switch (hp_.pooling) {
    case Pooling::Cls:
      std::copy(x.begin(), x.begin() + E, pooled.begin());
      break;
    case Pooling::Last:
      std::copy(x.end() - E, x.end(), pooled.begin());
      break;
    default: {  // mean over every token, [CLS] and [SEP] included
      std::vector<double> acc(static_cast<size_t>(E), 0.0);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < E; ++i) acc[i] += x[t * E + i];
      for (int64_t i = 0; i < E; ++i)
        pooled[i] = static_cast<float>(acc[i] / static_cast<double>(n));
    }
  }
  if (raw) *raw = pooled;
  double ss = 0;
  for (float v : pooled) ss += static_cast<double>(v) * v;
  const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
  for (auto& v : pooled) v = static_cast<float>(v * inv);
  return pooled;
}

}  // namespace rs
