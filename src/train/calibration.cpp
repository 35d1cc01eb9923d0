#include "train/calibration.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rs::train {

void softmax_inplace(float* z, uint32_t k, float inv_temperature) {
  const float m = *std::max_element(z, z + k);
  float sum = 0;
  for (uint32_t c = 0; c < k; ++c) {
    z[c] = std::exp((z[c] - m) * inv_temperature);
    sum += z[c];
  }
  const float inv = 1.0f / sum;
  for (uint32_t c = 0; c < k; ++c) z[c] *= inv;
}

double mean_nll(std::span<const float> logits, std::span<const int> y, uint32_t k, double t) {
  RS_CHECK(logits.size() == y.size() * k && !y.empty(), "calibration: {} logits for {} rows of {}",
           logits.size(), y.size(), k);
  double total = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const float* z = logits.data() + i * k;
    const double m = *std::max_element(z, z + k);
    double sum = 0;
    for (uint32_t c = 0; c < k; ++c) sum += std::exp((z[c] - m) / t);
    total += std::log(sum) - (z[y[i]] - m) / t;
  }
  return total / static_cast<double>(y.size());
}

double fit_temperature(std::span<const float> logits, std::span<const int> y, uint32_t k) {
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(0.02), b = std::log(50.0);
  double c = b - phi * (b - a), d = a + phi * (b - a);
  double fc = mean_nll(logits, y, k, std::exp(c)), fd = mean_nll(logits, y, k, std::exp(d));
  for (int it = 0; it < 60; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - phi * (b - a);
      fc = mean_nll(logits, y, k, std::exp(c));
    } else {
      a = c, c = d, fc = fd;
      d = a + phi * (b - a);
      fd = mean_nll(logits, y, k, std::exp(d));
    }
  }
  return std::exp((a + b) / 2);
}

}  // namespace rs::train
