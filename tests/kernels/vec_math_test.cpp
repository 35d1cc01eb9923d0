// The vectorised softmax and SiLU against double-precision std::exp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/vec_math.h"

namespace {

TEST(VecMath, SoftmaxMatchesDoublePrecision) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-60, 20);
  for (int64_t n : {1, 7, 8, 9, 100, 1000}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = u(rng);
    std::vector<double> ref(x.begin(), x.end());
    double mx = -1e300, sum = 0;
    for (double v : ref) mx = std::max(mx, v);
    for (double& v : ref) sum += (v = std::exp(v - mx));
    rs::kernels::softmax_fast(x.data(), n);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(x[i], ref[i] / sum, 2e-6 * (ref[i] / sum) + 1e-12) << "n " << n << " i " << i;
      total += x[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  std::vector<float> masked(5, -std::numeric_limits<float>::infinity());
  rs::kernels::softmax_fast(masked.data(), 5);
  for (float v : masked) EXPECT_EQ(v, 0.0f);
}

TEST(VecMath, SiluMulMatchesDoublePrecision) {
  std::vector<float> gate, act;
  for (float g = -100; g <= 100; g += 0.37f) gate.push_back(g);
  act.assign(gate.size(), 1.5f);
  rs::kernels::silu_mul(act.data(), gate.data(), static_cast<int64_t>(gate.size()));
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i], ref = 1.5 * g / (1 + std::exp(-g));
    EXPECT_NEAR(act[i], ref, 1e-6 * std::abs(ref) + 1e-30) << "gate " << g;
  }
}

}  // namespace
