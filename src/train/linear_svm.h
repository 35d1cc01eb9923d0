// A one-vs-rest linear support vector machine head: for each class an L2-regularised
// squared-hinge (L2-loss) SVM, solved by dual coordinate descent with shrinking (Hsieh et al.
// 2008, "A Dual Coordinate Descent Method for Large-scale Linear SVM"; liblinear's solver 1).
// On sparse TF-IDF text it converges in a few passes and is usually more accurate than SGD
// logistic regression.
//
// The result is an ordinary SoftmaxHead (train/softmax_regression.h): logits are the per-class
// SVM scores w_c . x + b_c, which temperature scaling (train/calibration.h) turns into
// probabilities. The bias is learned as the weight of a constant feature (liblinear's -B), so it
// is regularised like the other weights.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "train/softmax_regression.h"
#include "train/sparse.h"

namespace rs::train {

struct SvmTrainOptions {
  double c = 1.0;            // cost of the squared hinge: min 1/2 |w|^2 + C sum max(0, 1 - y w.x)^2
  double bias = 1.0;         // value of the constant feature (> 0)
  double tolerance = 0.1;    // stop when the projected-gradient spread falls below it
  int max_iterations = 200;  // passes over the data per class
  uint64_t seed = 1;         // coordinate order
  int threads = 1;           // classes are trained in parallel
};

// Trains n_classes binary SVMs (class c against the rest). on_class(c) is called after each class
// (from the training threads, serialised). rs::Error when sizes disagree or a label is >=
// n_classes.
SoftmaxHead train_linear_svm(const SparseMatrix& x, std::span<const int> y, uint32_t n_classes,
                             const SvmTrainOptions& opt,
                             const std::function<void(uint32_t)>& on_class = {});

// One binary problem (labels +1 / -1 given by positive[i]); w gets x.cols() weights, b the bias
// weight (the score is w . x + bias_value * b). Returns the passes used.
int train_binary_svm(const SparseMatrix& x, std::span<const uint8_t> positive,
                     const SvmTrainOptions& opt, std::span<float> w, float& b);

}  // namespace rs::train
