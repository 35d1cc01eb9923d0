// The reference dot kernels against dequantize + double-precision dot (an independent path
// through quant_blocks.h), and the activation quantizer's rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/quant.h"
#include "kernels/vec_dot.h"

namespace rs::kernels {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

class VecDotTest : public ::testing::TestWithParam<DType> {};

TEST_P(VecDotTest, ReferenceEqualsDequantizedDot) {
  // The reference kernels against the exact dot of dequantized weights and f32 activations: the
  // difference is the activation quantization error (8-bit: ~0.4% of the magnitude at most).
  // (The fast kernels are held to the reference ones in matmul_test.cpp.)
  const DType t = GetParam();
  for (int64_t n : {256, 512, 1536, 2048}) {
    for (uint32_t seed = 1; seed <= 5; ++seed) {
      const auto wf = gaussian(n, seed, 0.05f), xf = gaussian(n, seed + 100);
      std::vector<uint8_t> w(row_bytes(dtype_info(t), static_cast<uint64_t>(n)));
      quantize_row(t, wf.data(), w.data(), n);
      const ActFormat f = act_format_for(t);
      std::vector<uint8_t> act(act_row_bytes(f, n));
      quantize_act(f, xf.data(), act.data(), n);
      const float ref = vec_dot_reference(t)(w.data(), act.data(), n);
      double mag = 0, exact = 0;
      std::vector<float> wd(static_cast<size_t>(n));
      dequantize_row(t, w.data(), wd.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        mag += std::abs(wd[i] * xf[i]);
        exact += static_cast<double>(wd[i]) * xf[i];
      }
      const double tol = f == ActFormat::F32 ? 1e-5 * mag : 0.01 * mag;
      EXPECT_NEAR(ref, exact, tol) << dtype_name(t) << " n=" << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VecDotTest,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                                           DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K),
                         [](const auto& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

TEST(ActQuant, Q8_0MatchesScalarRounding) {
  // The AVX2 quantizer and the scalar one must agree bit for bit (half-to-even rounding).
  const auto x = gaussian(4096, 7);
  std::vector<BlockQ8_0> a(4096 / 32), b(4096 / 32);
  quantize_act(ActFormat::Q8_0, x.data(), a.data(), 4096);
  // Scalar path: values exactly at .5 after scaling round to even.
  for (size_t i = 0; i < a.size(); ++i) {
    const float amax = [&] {
      float m = 0;
      for (int j = 0; j < 32; ++j) m = std::max(m, std::abs(x[i * 32 + j]));
      return m;
    }();
    for (int j = 0; j < 32; ++j)
      ASSERT_EQ(a[i].qs[j], static_cast<int8_t>(std::nearbyint(x[i * 32 + j] * (127.0f / amax))))
          << i << " " << j;
  }
  if (!simd_available()) GTEST_SKIP() << "no AVX2 on this CPU: only the scalar path ran";
}

}  // namespace
}  // namespace rs::kernels
