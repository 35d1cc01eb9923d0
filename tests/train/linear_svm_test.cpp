// The one-vs-rest linear SVM head: separable classes are learned exactly, the dual coordinate
// descent reaches the primal optimum that plain gradient descent finds, and bad input is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "train/linear_svm.h"
#include "train/toy_sparse.h"

namespace rs::train {
namespace {

int argmax_right(const SoftmaxHead& h, const SparseMatrix& x, const std::vector<int>& y) {
  int right = 0;
  std::vector<float> z(h.n_classes);
  for (int64_t i = 0; i < x.rows(); ++i) {
    h.logits(x.row(i), z.data());
    right += std::max_element(z.begin(), z.end()) - z.begin() == y[static_cast<size_t>(i)];
  }
  return right;
}

TEST(LinearSvm, LearnsSeparableClassesExactly) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 300, 1);
  SvmTrainOptions o;
  o.threads = 2;
  const SoftmaxHead h = train_linear_svm(x, y, 3, o);
  EXPECT_EQ(argmax_right(h, x, y), 300);
  // Each class's own features carry positive weight, the other classes' negative.
  for (uint32_t f = 0; f < 6; ++f)
    for (uint32_t c = 0; c < 3; ++c) {
      const float w = h.weights[f * 3 + c];
      if (f / 2 == c)
        EXPECT_GT(w, 0.1f) << f << " " << c;
      else
        EXPECT_LT(w, 0.0f) << f << " " << c;
    }
}

// Primal objective 1/2 (|w|^2 + b^2) + C sum max(0, 1 - y (w.x + b))^2 (bias feature 1).
double primal(const SparseMatrix& x, const std::vector<uint8_t>& pos, const std::vector<double>& w,
              double b, double c) {
  double obj = 0.5 * b * b;
  for (double v : w) obj += 0.5 * v * v;
  for (int64_t i = 0; i < x.rows(); ++i) {
    const RowView r = x.row(i);
    double s = b;
    for (size_t f = 0; f < r.index.size(); ++f) s += w[r.index[f]] * r.value[f];
    const double m = 1 - (pos[static_cast<size_t>(i)] ? 1 : -1) * s;
    if (m > 0) obj += c * m * m;
  }
  return obj;
}

TEST(LinearSvm, AgreesWithGradientDescentOnThePrimal) {
  // Overlapping dense-ish data, so many examples sit inside the margin.
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd(0, 1);
  const uint32_t d = 5;
  SparseMatrix x(d);
  std::vector<uint8_t> pos;
  for (int i = 0; i < 200; ++i) {
    SparseRow r;
    const bool p = i % 2 == 0;
    for (uint32_t j = 0; j < d; ++j) {
      r.index.push_back(j);
      r.value.push_back(nd(rng) + (p && j < 2 ? 0.8f : 0.0f));
    }
    x.add_row(view(r));
    pos.push_back(p);
  }
  const double c = 0.05;
  SvmTrainOptions o;
  o.c = c;
  o.tolerance = 1e-6;
  o.max_iterations = 5000;
  std::vector<float> wf(d);
  float bf = 0;
  train_binary_svm(x, pos, o, wf, bf);
  const std::vector<double> w_dcd(wf.begin(), wf.end());

  // Reference: full-batch gradient descent on the (smooth, strongly convex) primal.
  std::vector<double> w(d, 0.0), g(d);
  double b = 0;
  for (int it = 0; it < 20000; ++it) {
    std::fill(g.begin(), g.end(), 0.0);
    double gb = b;
    for (uint32_t j = 0; j < d; ++j) g[j] = w[j];
    for (int64_t i = 0; i < x.rows(); ++i) {
      const RowView r = x.row(i);
      const double yi = pos[static_cast<size_t>(i)] ? 1 : -1;
      double s = b;
      for (size_t f = 0; f < r.index.size(); ++f) s += w[r.index[f]] * r.value[f];
      const double m = 1 - yi * s;
      if (m <= 0) continue;
      for (size_t f = 0; f < r.index.size(); ++f) g[r.index[f]] -= 2 * c * m * yi * r.value[f];
      gb -= 2 * c * m * yi;
    }
    for (uint32_t j = 0; j < d; ++j) w[j] -= 0.01 * g[j];
    b -= 0.01 * gb;
  }
  const double p_ref = primal(x, pos, w, b, c), p_dcd = primal(x, pos, w_dcd, bf, c);
  EXPECT_NEAR(p_dcd, p_ref, 1e-4 * p_ref);
  for (uint32_t j = 0; j < d; ++j) EXPECT_NEAR(w_dcd[j], w[j], 1e-3) << j;
  EXPECT_NEAR(bf, b, 1e-3);
}

TEST(LinearSvm, SameSeedSameWeights) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 60, 2);
  SvmTrainOptions o;
  o.threads = 2;
  const auto a = train_linear_svm(x, y, 3, o);
  o.threads = 1;
  const auto b = train_linear_svm(x, y, 3, o);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.bias, b.bias);
}

TEST(LinearSvm, RejectsBadInput) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 30, 3);
  EXPECT_THROW(train_linear_svm(x, y, 1, {}), Error);
  SvmTrainOptions o;
  o.c = 0;
  EXPECT_THROW(train_linear_svm(x, y, 3, o), Error);
  y[4] = 9;
  EXPECT_THROW(train_linear_svm(x, y, 3, {}), Error);
  y.pop_back();
  EXPECT_THROW(train_linear_svm(x, y, 3, {}), Error);
}

}  // namespace
}  // namespace rs::train
