// AdamW (Loshchilov & Hutter, as torch.optim.AdamW computes it) over a LoRA set, with global
// gradient-norm clipping, and the learning-rate schedule: linear warm-up from 0, then cosine decay
// to min_ratio·lr at the last step.
#pragma once

#include <cstdint>
#include <vector>

#include "train/weights.h"

namespace rs::train {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;   // decoupled: θ -= lr·wd·θ
  double max_grad_norm = 1.0;  // 0: no clipping
};

// Learning rate at optimizer step `step` (0-based) of `total`.
double scheduled_lr(int64_t step, int64_t total, int64_t warmup, double lr, double min_ratio);

class AdamW {
 public:
  AdamW(const AdamWConfig& cfg, int64_t n_params)
      : cfg_(cfg), m_(n_params, 0.0f), v_(n_params, 0.0f) {}

  // One update with learning rate lr; returns the gradient norm before clipping.
  double step(LoraSet<float>& params, double lr);

  int64_t t() const { return t_; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  void set_t(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  std::vector<float> m_, v_;  // first and second moments, in LoraSet::for_each order
  int64_t t_ = 0;
};

}  // namespace rs::train
