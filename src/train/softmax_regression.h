// A linear classifier head: multinomial logistic regression (softmax over classes) on sparse or
// dense features, trained by SGD. It serves both router back ends: TF-IDF text features and
// sentence embeddings.
//
// The weights are stored [n_features][n_classes] so that one feature's weights for every class
// are contiguous: a query touches only its few hundred non-zero features, each a short
// vectorisable row, which makes inference a handful of microseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "train/sparse.h"

namespace rs::train {

struct SoftmaxHead {
  uint32_t n_features = 0, n_classes = 0;
  std::vector<float> weights;  // [n_features][n_classes], row-major
  std::vector<float> bias;     // [n_classes]

  // out[k] = bias[k] + sum_j x_j * weights[j][k]; out holds n_classes floats.
  void logits(RowView x, float* out) const;
  void logits_dense(std::span<const float> x, float* out) const;
};

// What every head trainer checks first: x.rows() == y.size() > 0, n_classes >= 2, each label
// < n_classes (rs::Error naming `what` otherwise). Returns a zero head of x's shape.
SoftmaxHead checked_zero_head(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                              const char* what);

struct SoftmaxTrainOptions {
  double l2 = 1e-5;  // per-example penalty l2/2 |W|^2 (the bias is not penalised)
  int epochs = 15;
  double learning_rate = 0.5;  // initial SGD step; decays linearly to 0 over the run
  uint64_t seed = 1;           // example order
};

// Minimises mean cross-entropy + l2/2 |W|^2 by plain SGD over shuffled examples. The L2 shrink
// is kept as one scalar factor on W (Bottou's trick), so each step touches only the example's
// non-zero features instead of the whole matrix. on_epoch(e) is called after each epoch.
// rs::Error when sizes disagree or a label is >= n_classes.
SoftmaxHead train_softmax(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                          const SoftmaxTrainOptions& opt,
                          const std::function<void(int)>& on_epoch = {});

}  // namespace rs::train
