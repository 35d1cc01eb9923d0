#include "train/softmax_regression.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "train/calibration.h"

namespace rs::train {

void SoftmaxHead::logits(RowView x, float* out) const {
  const uint32_t k = n_classes;
  std::copy(bias.begin(), bias.end(), out);
  for (size_t i = 0; i < x.index.size(); ++i) {
    const float v = x.value[i];
    const float* w = weights.data() + static_cast<size_t>(x.index[i]) * k;
    for (uint32_t c = 0; c < k; ++c) out[c] += v * w[c];
  }
}

void SoftmaxHead::logits_dense(std::span<const float> x, float* out) const {
  RS_CHECK(x.size() == n_features, "classifier head: {} features, expected {}", x.size(),
           n_features);
  const uint32_t k = n_classes;
  std::copy(bias.begin(), bias.end(), out);
  for (size_t j = 0; j < x.size(); ++j) {
    const float v = x[j];
    const float* w = weights.data() + j * k;
    for (uint32_t c = 0; c < k; ++c) out[c] += v * w[c];
  }
}

SoftmaxHead checked_zero_head(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                              const char* what) {
  RS_CHECK(x.rows() > 0 && static_cast<size_t>(x.rows()) == y.size(),
           "{} training: {} rows, {} labels", what, x.rows(), y.size());
  RS_CHECK(n_classes >= 2, "{} training needs at least 2 classes, got {}", what, n_classes);
  for (int label : y)
    RS_CHECK(label >= 0 && static_cast<uint32_t>(label) < n_classes, "label {} out of range",
             label);
  SoftmaxHead h;
  h.n_features = x.cols();
  h.n_classes = n_classes;
  h.weights.assign(static_cast<size_t>(h.n_features) * n_classes, 0.0f);
  h.bias.assign(n_classes, 0.0f);
  return h;
}

SoftmaxHead train_softmax(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                          const SoftmaxTrainOptions& opt,
                          const std::function<void(int)>& on_epoch) {
  RS_CHECK(opt.epochs >= 1 && opt.l2 >= 0 && opt.learning_rate > 0,
           "softmax training: bad options (epochs {}, l2 {}, learning rate {})", opt.epochs, opt.l2,
           opt.learning_rate);
  SoftmaxHead h = checked_zero_head(x, y, n_classes, "softmax");
  const int64_t n = x.rows();
  const uint32_t k = n_classes;
  double scale = 1.0;  // true weights = scale * h.weights
  std::vector<float> z(k);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed);
  const double total = static_cast<double>(n) * opt.epochs;
  int64_t t = 0;
  for (int e = 0; e < opt.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t i : order) {
      const double eta = opt.learning_rate * std::max(1.0 - static_cast<double>(t++) / total, 1e-4);
      const RowView r = x.row(i);
      std::fill(z.begin(), z.end(), 0.0f);
      for (size_t f = 0; f < r.index.size(); ++f) {
        const float v = r.value[f];
        const float* w = h.weights.data() + static_cast<size_t>(r.index[f]) * k;
        for (uint32_t c = 0; c < k; ++c) z[c] += v * w[c];
      }
      for (uint32_t c = 0; c < k; ++c) z[c] = static_cast<float>(scale) * z[c] + h.bias[c];
      softmax_inplace(z.data(), k, 1.0f);
      z[static_cast<size_t>(y[static_cast<size_t>(i)])] -= 1.0f;  // z = dLoss/dlogits
      scale *= 1.0 - eta * opt.l2;
      if (scale < 1e-6) {  // fold the factor in before it loses float precision
        for (float& w : h.weights) w *= static_cast<float>(scale);
        scale = 1.0;
      }
      for (size_t f = 0; f < r.index.size(); ++f) {
        const auto step = static_cast<float>(-eta * r.value[f] / scale);
        float* w = h.weights.data() + static_cast<size_t>(r.index[f]) * k;
        for (uint32_t c = 0; c < k; ++c) w[c] += step * z[c];
      }
      for (uint32_t c = 0; c < k; ++c) h.bias[c] -= static_cast<float>(eta) * z[c];
    }
    if (on_epoch) on_epoch(e);
  }
  for (float& w : h.weights) w *= static_cast<float>(scale);
  return h;
}

}  // namespace rs::train
