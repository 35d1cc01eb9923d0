#include "kernels/ops.h"

#include "core/error.h"

#include <cmath>
#include <limits>

namespace rs::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>((x[i] - mean) * inv);
    y[i] = v * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
  }
}

void softmax(float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max == -std::numeric_limits<float>::infinity()) {  // everything masked: all zero
    for (int64_t i = 0; i < n; ++i) x[i] = 0;
    return;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  constexpr float kCoef = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
}

void softcap(float* y, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) y[i] = cap * std::tanh(y[i] / cap);
}

void rope_table(int n_rot, int64_t pos, float base, const float* freq_factors, float* cs) {
  const int half = n_rot / 2;
  for (int i = 0; i < half; ++i) {
    double theta = static_cast<double>(pos) * std::pow(static_cast<double>(base), -2.0 * i / n_rot);
    if (freq_factors) theta /= freq_factors[i];
    cs[i] = static_cast<float>(std::cos(theta));
    cs[half + i] = static_cast<float>(std::sin(theta));
  }
}

void rope_apply(float* x, int n_rot, const float* cs, RopeStyle style) {
  const int half = n_rot / 2;
  for (int i = 0; i < half; ++i) {
    const float c = cs[i], s = cs[half + i];
    const int a = style == RopeStyle::Interleaved ? 2 * i : i;
    const int b = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
    const float x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

}  // namespace rs::kernels
