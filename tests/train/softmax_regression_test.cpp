// The softmax head and its training: separable data is learned, logits agree with a direct
// computation, and temperature fitting recovers a known temperature.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "train/calibration.h"
#include "train/softmax_regression.h"
#include "train/toy_sparse.h"

namespace rs::train {
namespace {

TEST(SoftmaxRegression, LearnsSeparableClasses) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 300, 1);
  const SoftmaxHead h = train_softmax(x, y, 3, {1e-4, 10, 0.5, 7});
  int right = 0;
  std::vector<float> z(3);
  for (int64_t i = 0; i < x.rows(); ++i) {
    h.logits(x.row(i), z.data());
    right += std::max_element(z.begin(), z.end()) - z.begin() == y[static_cast<size_t>(i)];
  }
  EXPECT_EQ(right, 300);
  // logits_dense on the same vector gives the same numbers.
  std::vector<float> dense(8, 0.0f), zd(3);
  const RowView r = x.row(0);
  for (size_t f = 0; f < r.index.size(); ++f) dense[r.index[f]] = r.value[f];
  h.logits(r, z.data());
  h.logits_dense(dense, zd.data());
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(z[c], zd[c], 1e-5);
}

TEST(SoftmaxRegression, SameSeedSameWeights) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 60, 2);
  const auto a = train_softmax(x, y, 3, {1e-4, 3, 0.5, 5});
  const auto b = train_softmax(x, y, 3, {1e-4, 3, 0.5, 5});
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.bias, b.bias);
}

TEST(SoftmaxRegression, RejectsBadInput) {
  std::vector<int> y;
  const SparseMatrix x = toy(y, 30, 3);
  EXPECT_THROW(train_softmax(x, y, 1, {}), Error);
  y[4] = 9;
  EXPECT_THROW(train_softmax(x, y, 3, {}), Error);
  y.pop_back();
  EXPECT_THROW(train_softmax(x, y, 3, {}), Error);
  SparseMatrix m(4);
  SparseRow r{{7}, {1.0f}};
  EXPECT_THROW(m.add_row(view(r)), Error);
}

TEST(Calibration, RecoversTheTemperatureThatMadeTheLabels) {
  // Labels drawn from softmax(z / 2): the NLL-optimal temperature is close to 2.
  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd(0, 3);
  const uint32_t k = 4;
  std::vector<float> logits;
  std::vector<int> y;
  for (int i = 0; i < 20000; ++i) {
    std::vector<float> z(k);
    for (auto& v : z) v = nd(rng);
    logits.insert(logits.end(), z.begin(), z.end());
    std::vector<float> p = z;
    softmax_inplace(p.data(), k, 0.5f);
    std::discrete_distribution<int> pick(p.begin(), p.end());
    y.push_back(pick(rng));
  }
  const double t = fit_temperature(logits, y, k);
  EXPECT_NEAR(t, 2.0, 0.1);
  EXPECT_LT(mean_nll(logits, y, k, t), mean_nll(logits, y, k, 1.0));
}

}  // namespace
}  // namespace rs::train
