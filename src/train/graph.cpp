#include "train/graph.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "core/thread_pool.h"

namespace rs::train {
namespace {

// Runs fn(i) for i in [0, n), split across the pool. Each i is done by exactly one thread in a
// fixed order, so results do not depend on the thread count.
template <typename Fn>
void par(ThreadPool* pool, int64_t n, Fn&& fn) {
  if (pool && pool->size() > 1 && n > 1) {
    pool->parallel_for(n, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) fn(i);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) fn(i);
  }
}

// In float mode values are rounded to float exactly where kernels/ops.cpp rounds them, so the
// training forward reproduces the inference forward closely.
template <typename T>
T round_as(double v) {
  if constexpr (std::is_same_v<T, float>)
    return static_cast<float>(v);
  else
    return static_cast<T>(v);
}

// y = x · rstd · w per row; rstd = 1/sqrt(mean(x²) + eps), kept for the backward.
template <typename T>
void rmsnorm(const T* x, const std::vector<T>& w, T* y, T* rstd, int64_t n, int64_t E, float eps) {
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < E; ++i)
      ss += static_cast<double>(x[t * E + i]) * static_cast<double>(x[t * E + i]);
    const T r =
        round_as<T>(1.0 / std::sqrt(ss / static_cast<double>(E) + static_cast<double>(eps)));
    rstd[t] = r;
    for (int64_t i = 0; i < E; ++i) y[t * E + i] = x[t * E + i] * r * w[i];
  }
}

// dx += ∂/∂x of y = x·r·w with r = (mean(x²)+eps)^-½:  dx_i += r·w_i·dy_i − x_i·r³/E · Σ_k
// dy_k·w_k·x_k
template <typename T>
void rmsnorm_back(const T* x, const T* rstd, const std::vector<T>& w, const T* dy, T* dx, int64_t n,
                  int64_t E) {
  for (int64_t t = 0; t < n; ++t) {
    const T* xt = x + t * E;
    const T* dyt = dy + t * E;
    T s = 0;
    for (int64_t k = 0; k < E; ++k) s += dyt[k] * w[k] * xt[k];
    const T r = rstd[t];
    const T c = r * r * r * s / static_cast<T>(E);
    for (int64_t i = 0; i < E; ++i) dx[t * E + i] += r * w[i] * dyt[i] - xt[i] * c;
  }
}

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// Σ a[i]·b[i] with eight independent partial sums, so the compiler can keep them in one SIMD
// register (a single running sum is a dependency chain it may not reorder).
template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

int64_t Sequence::n_targets() const {
  int64_t n = 0;
  for (uint8_t m : target) n += m;
  return n;
}

template <typename T>
void Graph<T>::rope(T* x, int64_t n, int64_t n_heads, bool inverse) const {
  const HParams& hp = w_.hp;
  const int64_t D = hp.head_dim, half = hp.n_rot / 2;
  const bool inter = hp.rope_style == kernels::RopeStyle::Interleaved;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < n_heads; ++h) {
      T* v = x + (t * n_heads + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        const T c = cos_[t * half + i], s = inverse ? -sin_[t * half + i] : sin_[t * half + i];
        const int64_t a = inter ? 2 * i : i, b = inter ? 2 * i + 1 : i + half;
        const T x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
}

template <typename T>
void Graph<T>::project(const std::vector<T>& w, const std::vector<T>& bias, const LoraTensor<T>* lt,
                       const T* x, int64_t n, int64_t I, int64_t O, T* y, std::vector<T>& la) {
  par(pool_, n * O, [&](int64_t job) {
    const int64_t t = job / O, o = job % O;
    const T s = dot(w.data() + o * I, x + t * I, I);
    y[job] = bias.empty() ? s : s + bias[o];
  });
  if (!lt || !*lt) return;
  const int64_t R = lt->rank;
  la.assign(static_cast<size_t>(n * R), T(0));
  par(pool_, n, [&](int64_t t) {
    const T* xt = x + t * I;
    for (int64_t r = 0; r < R; ++r) la[t * R + r] = dot(lt->a.data() + r * I, xt, I);  // A·x
    for (int64_t o = 0; o < O; ++o) {  // y += scale·B·la
      T s = 0;
      for (int64_t r = 0; r < R; ++r) s += lt->b[o * R + r] * la[t * R + r];
      y[t * O + o] += lt->scale * s;
    }
  });
}

template <typename T>
void Graph<T>::project_back(const std::vector<T>& w, LoraTensor<T>* lt, const T* x,
                            const std::vector<T>& la, const T* dy, int64_t n, int64_t I, int64_t O,
                            T* dx) {
  par(pool_, n, [&](int64_t t) {  // dx[t] += Σ_o dy[t][o] · W[o]
    T* dxt = dx + t * I;
    for (int64_t o = 0; o < O; ++o) {
      const T c = dy[t * O + o];
      if (c == 0) continue;
      const T* wr = w.data() + o * I;
      for (int64_t i = 0; i < I; ++i) dxt[i] += c * wr[i];
    }
  });
  if (!lt || !*lt) return;
  const int64_t R = lt->rank;
  std::vector<T> dla(static_cast<size_t>(n * R), T(0));  // ∂/∂(A·x) = scale·Bᵀ·dy
  par(pool_, n, [&](int64_t t) {
    for (int64_t o = 0; o < O; ++o) {
      const T c = lt->scale * dy[t * O + o];
      for (int64_t r = 0; r < R; ++r) dla[t * R + r] += c * lt->b[o * R + r];
    }
  });
  par(pool_, O, [&](int64_t o) {  // gB[o][r] += scale · Σ_t dy[t][o] · la[t][r]
    for (int64_t t = 0; t < n; ++t) {
      const T c = lt->scale * dy[t * O + o];
      for (int64_t r = 0; r < R; ++r) lt->gb[o * R + r] += c * la[t * R + r];
    }
  });
  par(pool_, R, [&](int64_t r) {  // gA[r][i] += Σ_t dla[t][r] · x[t][i]
    for (int64_t t = 0; t < n; ++t) {
      const T c = dla[t * R + r];
      for (int64_t i = 0; i < I; ++i) lt->ga[r * I + i] += c * x[t * I + i];
    }
  });
  par(pool_, n, [&](int64_t t) {  // dx[t] += Σ_r dla[t][r] · A[r]
    for (int64_t r = 0; r < R; ++r) {
      const T c = dla[t * R + r];
      for (int64_t i = 0; i < I; ++i) dx[t * I + i] += c * lt->a[r * I + i];
    }
  });
}

template <typename T>
void Graph<T>::attention_forward(LayerActs& a, int64_t n) {
  const HParams& hp = w_.hp;
  const int64_t H = hp.n_head, K = hp.n_head_kv, D = hp.head_dim, group = H / K;
  const T scale = round_as<T>(1.0 / std::sqrt(static_cast<double>(D)));
  a.att.assign(static_cast<size_t>(H * n * n), T(0));
  a.ao.assign(static_cast<size_t>(n * H * D), T(0));
  par(pool_, H, [&](int64_t h) {
    const int64_t g = h / group;
    for (int64_t t = 0; t < n; ++t) {
      T* p = a.att.data() + (h * n + t) * n;
      const T* qv = a.q.data() + (t * H + h) * D;
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j <= t; ++j) {  // causal: keys 0..t
        const T* kv = a.k.data() + (j * K + g) * D;
        T s = 0;
        for (int64_t d = 0; d < D; ++d) s += qv[d] * kv[d];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      T sum = 0;
      for (int64_t j = 0; j <= t; ++j) sum += (p[j] = std::exp(p[j] - mx));
      for (int64_t j = 0; j <= t; ++j) p[j] /= sum;
      T* o = a.ao.data() + (t * H + h) * D;
      for (int64_t j = 0; j <= t; ++j)
        for (int64_t d = 0; d < D; ++d) o[d] += p[j] * a.v[(j * K + g) * D + d];
    }
  });
}

template <typename T>
void Graph<T>::attention_backward(LayerActs& a, int64_t n, const T* d_ao, T* dq, T* dk, T* dv) {
  const HParams& hp = w_.hp;
  const int64_t H = hp.n_head, K = hp.n_head_kv, D = hp.head_dim, group = H / K;
  const T scale = round_as<T>(1.0 / std::sqrt(static_cast<double>(D)));
  // One job per kv head: the query heads of a group all write that group's dk/dv.
  par(pool_, K, [&](int64_t g) {
    std::vector<T> dp(static_cast<size_t>(n));
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t t = 0; t < n; ++t) {
        const T* p = a.att.data() + (h * n + t) * n;
        const T* dot = d_ao + (t * H + h) * D;
        T dot_sum = 0;  // Σ_j P·dP, for the softmax backward
        for (int64_t j = 0; j <= t; ++j) {
          const T* vv = a.v.data() + (j * K + g) * D;
          T s = 0;
          for (int64_t d = 0; d < D; ++d) {
            s += dot[d] * vv[d];                       // dP[t][j] = do[t]·v[j]
            dv[(j * K + g) * D + d] += p[j] * dot[d];  // dv[j] += P[t][j]·do[t]
          }
          dp[j] = s;
          dot_sum += p[j] * s;
        }
        const T* qv = a.q.data() + (t * H + h) * D;
        for (int64_t j = 0; j <= t; ++j) {
          const T ds = p[j] * (dp[j] - dot_sum) * scale;  // dS·scale
          const T* kv = a.k.data() + (j * K + g) * D;
          for (int64_t d = 0; d < D; ++d) {
            dq[(t * H + h) * D + d] += ds * kv[d];
            dk[(j * K + g) * D + d] += ds * qv[d];
          }
        }
      }
  });
}

template <typename T>
void Graph<T>::forward(std::span<const int32_t> tokens, const LoraSet<T>* lora) {
  const HParams& hp = w_.hp;
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t E = hp.n_embd, Q = hp.n_embd_q(), KV = hp.n_embd_kv(), F = hp.n_ff;
  RS_CHECK(n > 0, "training sequence is empty");
  RS_CHECK(n <= hp.n_ctx_train,
           "a training sequence of {} tokens exceeds the model's context of {}; "
           "lower --max-tokens",
           n, hp.n_ctx_train);
  for (int32_t id : tokens)
    RS_CHECK(id >= 0 && id < hp.n_vocab, "token id {} is outside the vocabulary", id);
  RS_CHECK(!lora || static_cast<int64_t>(lora->layers.size()) == hp.n_layer,
           "LoRA set does not match the model");
  auto lt = [&](int64_t l, lora::Target t) -> const LoraTensor<T>* {
    return lora ? &lora->layers[static_cast<size_t>(l)][static_cast<size_t>(t)] : nullptr;
  };

  const int64_t half = hp.n_rot / 2;  // RoPE angles as kernels::rope computes them
  cos_.resize(static_cast<size_t>(n * half));
  sin_.resize(static_cast<size_t>(n * half));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < half; ++i) {
      double theta = static_cast<double>(t) * std::pow(static_cast<double>(hp.rope_base),
                                                       -2.0 * static_cast<double>(i) / hp.n_rot);
      if (!w_.rope_freqs.empty()) theta /= w_.rope_freqs[static_cast<size_t>(i)];
      cos_[t * half + i] = round_as<T>(std::cos(theta));
      sin_[t * half + i] = round_as<T>(std::sin(theta));
    }

  std::vector<T> x(static_cast<size_t>(n * E)), tmp(static_cast<size_t>(n * E));
  for (int64_t t = 0; t < n; ++t)
    std::copy_n(w_.embd.begin() + tokens[t] * E, E, x.begin() + t * E);
  acts_.resize(static_cast<size_t>(hp.n_layer));
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const LayerParams<T>& L = w_.layers[static_cast<size_t>(l)];
    LayerActs& a = acts_[static_cast<size_t>(l)];
    auto& la = a.la;
    using lora::Target;
    a.x_in = x;
    a.xn1.resize(x.size());
    a.rstd1.resize(static_cast<size_t>(n));
    rmsnorm(x.data(), L.attn_norm, a.xn1.data(), a.rstd1.data(), n, E, hp.norm_eps);
    a.q.resize(static_cast<size_t>(n * Q));
    a.k.resize(static_cast<size_t>(n * KV));
    a.v.resize(static_cast<size_t>(n * KV));
    project(L.wq, L.bq, lt(l, Target::Q), a.xn1.data(), n, E, Q, a.q.data(), la[0]);
    project(L.wk, L.bk, lt(l, Target::K), a.xn1.data(), n, E, KV, a.k.data(), la[1]);
    project(L.wv, L.bv, lt(l, Target::V), a.xn1.data(), n, E, KV, a.v.data(), la[2]);
    rope(a.q.data(), n, hp.n_head, false);
    rope(a.k.data(), n, hp.n_head_kv, false);
    attention_forward(a, n);
    project(L.wo, {}, lt(l, Target::O), a.ao.data(), n, Q, E, tmp.data(), la[3]);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    a.x_mid = x;
    a.xn2.resize(x.size());
    a.rstd2.resize(static_cast<size_t>(n));
    rmsnorm(x.data(), L.ffn_norm, a.xn2.data(), a.rstd2.data(), n, E, hp.norm_eps);
    a.g.resize(static_cast<size_t>(n * F));
    a.u.resize(static_cast<size_t>(n * F));
    a.h.resize(static_cast<size_t>(n * F));
    project(L.wg, {}, lt(l, Target::Gate), a.xn2.data(), n, E, F, a.g.data(), la[4]);
    project(L.wu, {}, lt(l, Target::Up), a.xn2.data(), n, E, F, a.u.data(), la[5]);
    for (int64_t i = 0; i < n * F; ++i) a.h[i] = a.g[i] * sigmoid(a.g[i]) * a.u[i];  // silu(g)·u
    project(L.wd, {}, lt(l, Target::Down), a.h.data(), n, F, E, tmp.data(), la[6]);
    for (size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
  }
  x_out_ = std::move(x);
  xf_.resize(x_out_.size());
  rstdf_.resize(static_cast<size_t>(n));
  rmsnorm(x_out_.data(), w_.out_norm, xf_.data(), rstdf_.data(), n, E, hp.norm_eps);
}

template <typename T>
void Graph<T>::logits(std::span<const int32_t> tokens, const LoraSet<T>* lora,
                      std::vector<T>& out) {
  forward(tokens, lora);
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t E = w_.hp.n_embd, V = w_.hp.n_vocab;
  out.resize(static_cast<size_t>(n * V));
  std::vector<T> none;
  project(w_.output, {}, nullptr, xf_.data(), n, E, V, out.data(), none);
}

template <typename T>
double Graph<T>::run(const Sequence& seq, LoraSet<T>* lora, T grad_scale, std::vector<T>* d_embd) {
  const HParams& hp = w_.hp;
  const auto n = static_cast<int64_t>(seq.tokens.size());
  RS_CHECK(seq.target.size() == seq.tokens.size(), "sequence target mask has the wrong length");
  forward(seq.tokens, lora);
  const int64_t E = hp.n_embd, Q = hp.n_embd_q(), KV = hp.n_embd_kv(), F = hp.n_ff, V = hp.n_vocab;
  const bool backward = grad_scale != T(0);

  // Loss at the positions that predict a target token; the output projection runs only there.
  double loss = 0;
  std::vector<T> dxf(backward ? static_cast<size_t>(n * E) : 0, T(0)),
      logit(static_cast<size_t>(V));
  std::vector<T> none;
  for (int64_t p = 0; p + 1 < n; ++p) {
    if (!seq.target[static_cast<size_t>(p + 1)]) continue;
    project(w_.output, {}, nullptr, xf_.data() + p * E, 1, E, V, logit.data(), none);
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (T v : logit) mx = std::max(mx, static_cast<double>(v));
    for (T v : logit) sum += std::exp(static_cast<double>(v) - mx);
    const double lse = mx + std::log(sum);
    const int32_t tok = seq.tokens[static_cast<size_t>(p + 1)];
    loss += lse - static_cast<double>(logit[static_cast<size_t>(tok)]);
    if (!backward) continue;
    T* d = dxf.data() + p * E;  // dxf[p] = Σ_v (softmax_v − [v = tok])·grad_scale · output[v]
    for (int64_t v = 0; v < V; ++v) {
      const T dl = (static_cast<T>(std::exp(static_cast<double>(logit[v]) - lse)) - T(v == tok)) *
                   grad_scale;
      const T* row = w_.output.data() + v * E;
      for (int64_t i = 0; i < E; ++i) d[i] += dl * row[i];
    }
  }
  if (!backward) return loss;

  LoraSet<T>* lw = lora;
  auto lt = [&](int64_t l, lora::Target t) -> LoraTensor<T>* {
    return lw ? &lw->layers[static_cast<size_t>(l)][static_cast<size_t>(t)] : nullptr;
  };
  std::vector<T> dx(static_cast<size_t>(n * E), T(0));
  rmsnorm_back(x_out_.data(), rstdf_.data(), w_.out_norm, dxf.data(), dx.data(), n, E);
  std::vector<T> dh, dg, du, dxn, dao, dq, dk, dv;
  for (int64_t l = hp.n_layer - 1; l >= 0; --l) {
    const LayerParams<T>& L = w_.layers[static_cast<size_t>(l)];
    LayerActs& a = acts_[static_cast<size_t>(l)];
    using lora::Target;
    // FFN: x_out = x_mid + down(silu(gate(xn2)) · up(xn2)); dx is ∂/∂x_out here.
    dh.assign(static_cast<size_t>(n * F), T(0));
    project_back(L.wd, lt(l, Target::Down), a.h.data(), a.la[6], dx.data(), n, F, E, dh.data());
    dg.resize(dh.size());
    du.resize(dh.size());
    for (int64_t i = 0; i < n * F; ++i) {
      const T s = sigmoid(a.g[i]);
      du[i] = dh[i] * a.g[i] * s;
      dg[i] =
          dh[i] * a.u[i] * s * (T(1) + a.g[i] * (T(1) - s));  // silu'(g) = σ(g)(1 + g(1 − σ(g)))
    }
    dxn.assign(static_cast<size_t>(n * E), T(0));
    project_back(L.wg, lt(l, Target::Gate), a.xn2.data(), a.la[4], dg.data(), n, E, F, dxn.data());
    project_back(L.wu, lt(l, Target::Up), a.xn2.data(), a.la[5], du.data(), n, E, F, dxn.data());
    rmsnorm_back(a.x_mid.data(), a.rstd2.data(), L.ffn_norm, dxn.data(), dx.data(), n, E);
    // Attention: x_mid = x_in + o(attention(rope(q(xn1)), rope(k(xn1)), v(xn1))).
    dao.assign(static_cast<size_t>(n * Q), T(0));
    project_back(L.wo, lt(l, Target::O), a.ao.data(), a.la[3], dx.data(), n, Q, E, dao.data());
    dq.assign(static_cast<size_t>(n * Q), T(0));
    dk.assign(static_cast<size_t>(n * KV), T(0));
    dv.assign(static_cast<size_t>(n * KV), T(0));
    attention_backward(a, n, dao.data(), dq.data(), dk.data(), dv.data());
    rope(dq.data(), n, hp.n_head, true);  // a rotation's transpose is the opposite rotation
    rope(dk.data(), n, hp.n_head_kv, true);
    dxn.assign(static_cast<size_t>(n * E), T(0));
    project_back(L.wq, lt(l, Target::Q), a.xn1.data(), a.la[0], dq.data(), n, E, Q, dxn.data());
    project_back(L.wk, lt(l, Target::K), a.xn1.data(), a.la[1], dk.data(), n, E, KV, dxn.data());
    project_back(L.wv, lt(l, Target::V), a.xn1.data(), a.la[2], dv.data(), n, E, KV, dxn.data());
    rmsnorm_back(a.x_in.data(), a.rstd1.data(), L.attn_norm, dxn.data(), dx.data(), n, E);
  }
  if (d_embd) {
    d_embd->resize(w_.embd.size(), T(0));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < E; ++i)
        (*d_embd)[seq.tokens[static_cast<size_t>(t)] * E + i] += dx[t * E + i];
  }
  return loss;
}

template class Graph<float>;
template class Graph<double>;

}  // namespace rs::train
