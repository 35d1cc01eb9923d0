// Element-wise and per-row operations of the transformer forward pass, on f32 rows.
#pragma once

#include <cstdint>

namespace rs::kernels {

// y = x / sqrt(mean(x²) + eps) * w   (w may be null: no scale). In-place allowed (y == x).
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// y = (x - mean) / sqrt(var + eps) * w + b   (w, b may be null). In-place allowed.
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

// In-place softmax over n values; -inf entries get probability 0.
void softmax(float* x, int64_t n);

float silu(float x);
// GELU, tanh approximation (what llama.cpp uses for every architecture here).
float gelu_tanh(float x);

// y[i] = cap * tanh(y[i] / cap)
void softcap(float* y, int64_t n, float cap);

enum class RopeStyle {
  Interleaved,  // pairs (2i, 2i+1): GGUF llama ("NORM")
  Halves,       // pairs (i, i + n_rot/2): qwen2, phi3, gemma2, and HF-layout llama ("NEOX")
};

// Rotary position embedding of one head vector x[head_dim] at position `pos`, in two steps so
// that every head (and layer) of one position shares one table. The first n_rot dims rotate with
// θ_i = pos · base^(−2i/n_rot) / freq_factors[i] (freq_factors may be null); the rest are
// unchanged. rope_table writes cos θ_i and sin θ_i (i < n_rot / 2) into cs[n_rot] (cos first,
// then sin); rope_apply rotates x with it.
void rope_table(int n_rot, int64_t pos, float base, const float* freq_factors, float* cs);
void rope_apply(float* x, int n_rot, const float* cs, RopeStyle style);

}  // namespace rs::kernels
