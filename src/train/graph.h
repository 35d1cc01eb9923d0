// The training forward and backward pass of a llama-family model with LoRA, written out by hand
// in the style of llm.c: every activation the backward needs is kept, and every operation's
// gradient is a few explicit loops next to its forward. Only the LoRA A/B matrices receive
// gradients (plus, for tests, the input embedding rows); the base weights stay frozen.
//
// Shapes for one sequence of n tokens (E = n_embd, H heads of D, K = kv heads, F = n_ff,
// V = vocabulary, r = LoRA rank):
//   x [n][E] residual stream, q [n][H·D], k/v [n][K·D], P [H][n][n] attention probabilities,
//   g/u [n][F] gate and up projections, lora activations A·x [n][r].
//
// Templated on the number type: float for training, double for the finite-difference tests.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "train/weights.h"

namespace rs {
class ThreadPool;
}

namespace rs::train {

// One training example: tokens, and for each position whether that token is a completion token
// whose prediction (from the previous position) counts in the loss. target[0] is always 0.
struct Sequence {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> target;
  int64_t n_targets() const;
};

template <typename T>
class Graph {
 public:
  Graph(const BaseWeights<T>& w, ThreadPool* pool) : w_(w), pool_(pool) {}

  // Σ over target positions of −log p(token | previous tokens). When grad_scale != 0, also adds
  // grad_scale · ∂(that sum)/∂θ to every LoRA gradient (and to d_embd [V][E] when non-null).
  // lora may be null (base model). rs::Error for ids outside the vocabulary or a too long input.
  double run(const Sequence& seq, LoraSet<T>* lora, T grad_scale, std::vector<T>* d_embd = nullptr);

  // Logits for every position, [n][V] (tests compare them with Model::forward).
  void logits(std::span<const int32_t> tokens, const LoraSet<T>* lora, std::vector<T>& out);

 private:
  struct LayerActs {
    std::vector<T> x_in, xn1, rstd1, q, k, v, att, ao, x_mid, xn2, rstd2, g, u, h;
    std::vector<T> la[lora::kNumTargets];  // A·x per target, [n][r]
  };
  void forward(std::span<const int32_t> tokens, const LoraSet<T>* lora);
  void attention_forward(LayerActs& a, int64_t n);
  void attention_backward(LayerActs& a, int64_t n, const T* d_ao, T* dq, T* dk, T* dv);
  // y [n][O] = x [n][I] · Wᵀ (+ bias) + lora; stores A·x into la.
  void project(const std::vector<T>& w, const std::vector<T>& bias, const LoraTensor<T>* lt,
               const T* x, int64_t n, int64_t I, int64_t O, T* y, std::vector<T>& la);
  // dx [n][I] += dy · W (+ lora path); accumulates LoRA gradients.
  void project_back(const std::vector<T>& w, LoraTensor<T>* lt, const T* x,
                    const std::vector<T>& la, const T* dy, int64_t n, int64_t I, int64_t O, T* dx);
  void rope(T* x, int64_t n, int64_t n_heads, bool inverse) const;

  const BaseWeights<T>& w_;
  ThreadPool* pool_;
  std::vector<LayerActs> acts_;
  std::vector<T> x_out_, xf_, rstdf_;
  std::vector<T> cos_, sin_;  // [n][n_rot/2]
};

}  // namespace rs::train
