#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace rs::train {

double scheduled_lr(int64_t step, int64_t total, int64_t warmup, double lr, double min_ratio) {
  if (warmup > 0 && step < warmup)
    return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay = std::max<int64_t>(1, total - warmup);
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(decay));
  return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + std::cos(M_PI * progress)));
}

double AdamW::step(LoraSet<float>& params, double lr) {
  double sq = 0;
  params.for_each([&](float*, float* g, int64_t n) {
    for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(g[i]) * g[i];
  });
  const double norm = std::sqrt(sq);
  const double clip = cfg_.max_grad_norm > 0 && norm > cfg_.max_grad_norm
                          ? cfg_.max_grad_norm / (norm + 1e-6)
                          : 1.0;
  ++t_;
  const double bc1 = 1 - std::pow(cfg_.beta1, static_cast<double>(t_));
  const double bc2 = 1 - std::pow(cfg_.beta2, static_cast<double>(t_));
  size_t k = 0;
  params.for_each([&](float* p, float* g, int64_t n) {
    RS_CHECK(k + static_cast<size_t>(n) <= m_.size(),
             "optimizer state does not match the parameters");
    for (int64_t i = 0; i < n; ++i, ++k) {
      const double gi = static_cast<double>(g[i]) * clip;
      m_[k] = static_cast<float>(cfg_.beta1 * m_[k] + (1 - cfg_.beta1) * gi);
      v_[k] = static_cast<float>(cfg_.beta2 * v_[k] + (1 - cfg_.beta2) * gi * gi);
      const double mhat = m_[k] / bc1, vhat = v_[k] / bc2;
      double pi = p[i];
      pi -= lr * cfg_.weight_decay * pi;
      pi -= lr * mhat / (std::sqrt(vhat) + cfg_.eps);
      p[i] = static_cast<float>(pi);
    }
  });
  return norm;
}

}  // namespace rs::train
