// kernels::matmul: batch invariance (each output bit-identical to the same token computed alone,
// whatever the number and choice of other tokens and the thread count), agreement of the SIMD
// kernels with each other, and accuracy against the reference dot kernels, for every weight
// type and every instruction set this CPU runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/vec_dot.h"

namespace rs::kernels {
namespace {

using gemm::Isa;

std::vector<float> gaussian(size_t n, uint32_t seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Matrix {
  std::vector<uint8_t> bytes;
  WeightView view;
};

// n_out random rows of n_in values quantized to t.
Matrix random_matrix(DType t, int64_t n_in, int64_t n_out, uint32_t seed) {
  Matrix m;
  const size_t row = row_bytes(dtype_info(t), static_cast<uint64_t>(n_in));
  m.bytes.resize(row * static_cast<size_t>(n_out));
  const auto values = gaussian(static_cast<size_t>(n_in * n_out), seed, 0.05f);
  for (int64_t r = 0; r < n_out; ++r)
    quantize_row(t, values.data() + r * n_in, m.bytes.data() + r * row, n_in);
  m.view = {t, n_in, n_out, m.bytes.data(), row, rs::kernels::WeightLayout::Rows};
  return m;
}

// Odd shapes: output rows that fill no tile evenly, and for the float types rows with a tail
// that is not a multiple of 8.
int64_t n_in_for(DType t) {
  switch (t) {
    case DType::F32:
      return 83;
    case DType::F16:
    case DType::BF16:
      return 77;
    case DType::Q4_K:
    case DType::Q6_K:
      return 512;
    default:
      return 96;
  }
}

std::vector<Isa> isas() {
  std::vector<Isa> v;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (gemm::isa_supported(isa)) v.push_back(isa);
  return v;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

class MatmulTest : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulTest, BatchInvariantAcrossTokenCountsAndThreads) {
  const DType t = GetParam();
  const int64_t n_in = n_in_for(t), n_out = 67, n_tok = 37;
  const Matrix m = random_matrix(t, n_in, n_out, 1);
  const auto x = gaussian(static_cast<size_t>(n_tok * n_in), 2, 1.0f);
  const auto bias = gaussian(static_cast<size_t>(n_out), 3, 0.1f);
  ThreadPool pool1(1), pool2(2);
  for (Isa isa : isas()) {
    // Each token alone, no pool: the decode path.
    std::vector<float> alone(static_cast<size_t>(n_tok * n_out));
    for (int64_t k = 0; k < n_tok; ++k)
      matmul(m.view, x.data() + k * n_in, 1, alone.data() + k * n_out, bias.data(), nullptr, isa);
    for (ThreadPool* pool : {&pool1, &pool2}) {
      for (int64_t n = 1; n <= n_tok; ++n) {
        // n tokens starting at a different offset each time, so tokens meet different neighbours
        // and land in different positions of the tiles.
        const int64_t first = (7 * n) % n_tok;
        std::vector<float> xs(static_cast<size_t>(n * n_in)), y(static_cast<size_t>(n * n_out));
        for (int64_t k = 0; k < n; ++k) {
          const int64_t src = (first + k) % n_tok;
          std::copy(x.begin() + src * n_in, x.begin() + (src + 1) * n_in, xs.begin() + k * n_in);
        }
        matmul(m.view, xs.data(), n, y.data(), bias.data(), pool, isa);
        for (int64_t k = 0; k < n; ++k) {
          const int64_t src = (first + k) % n_tok;
          for (int64_t r = 0; r < n_out; ++r)
            ASSERT_TRUE(same_bits(y[k * n_out + r], alone[src * n_out + r]))
                << dtype_name(t) << " " << gemm::isa_name(isa) << " threads=" << pool->size()
                << " n_tokens=" << n << " token=" << src << " row=" << r << ": " << y[k * n_out + r]
                << " vs " << alone[src * n_out + r];
        }
      }
    }
  }
}

TEST_P(MatmulTest, SimdKernelsAgreeBitForBit) {
  // gemm.h: the AVX2 and AVX-512 kernels follow the same float recipe.
  if (!gemm::isa_supported(Isa::Avx512)) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const DType t = GetParam();
  const int64_t n_in = n_in_for(t) * 4, n_out = 45, n_tok = 11;
  const Matrix m = random_matrix(t, n_in, n_out, 4);
  const auto x = gaussian(static_cast<size_t>(n_tok * n_in), 5, 1.0f);
  std::vector<float> a(static_cast<size_t>(n_tok * n_out)), b(a.size());
  matmul(m.view, x.data(), n_tok, a.data(), nullptr, nullptr, Isa::Avx2);
  matmul(m.view, x.data(), n_tok, b.data(), nullptr, nullptr, Isa::Avx512);
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_TRUE(same_bits(a[i], b[i])) << i << ": " << a[i] << " vs " << b[i];
}

TEST_P(MatmulTest, MatchesReferenceDots) {
  // Against vec_dot_reference on the same quantized activations (only the float accumulation
  // order differs) and, for the float types, against a double-precision dot.
  const DType t = GetParam();
  const int64_t n_in = n_in_for(t) * 2, n_out = 29, n_tok = 13;
  const Matrix m = random_matrix(t, n_in, n_out, 6);
  const auto x = gaussian(static_cast<size_t>(n_tok * n_in), 7, 1.0f);
  const ActFormat f = act_format_for(t);
  const VecDotFn ref = vec_dot_reference(t);
  std::vector<uint8_t> act(act_row_bytes(f, n_in));
  std::vector<float> wd(static_cast<size_t>(n_in));
  ThreadPool pool(2);
  for (Isa isa : isas()) {
    std::vector<float> y(static_cast<size_t>(n_tok * n_out));
    matmul(m.view, x.data(), n_tok, y.data(), nullptr, &pool, isa);
    for (int64_t k = 0; k < n_tok; ++k) {
      const float* xk = x.data() + k * n_in;
      quantize_act(f, xk, act.data(), n_in);
      for (int64_t r = 0; r < n_out; ++r) {
        dequantize_row(t, m.view.row(r), wd.data(), n_in);
        double mag = 0, exact = 0;
        for (int64_t i = 0; i < n_in; ++i) {
          mag += std::abs(static_cast<double>(wd[i]) * xk[i]);
          exact += static_cast<double>(wd[i]) * xk[i];
        }
        const float got = y[k * n_out + r];
        if (f == ActFormat::F32) {
          EXPECT_NEAR(got, exact, 1e-5 * mag) << dtype_name(t) << " " << gemm::isa_name(isa);
        } else {
          EXPECT_NEAR(got, ref(m.view.row(r), act.data(), n_in), 1e-5 * mag + 1e-6)
              << dtype_name(t) << " " << gemm::isa_name(isa) << " token " << k << " row " << r;
          EXPECT_NEAR(got, exact, 0.01 * mag) << dtype_name(t) << " " << gemm::isa_name(isa);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0,
                                           DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K),
                         [](const auto& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

// matmul_multi: the same bits as one matmul per matrix, for matrices of one activation format
// (Q4_0 + Q8_0 + Q4_0, Q4_K + Q6_K) and of mixed formats (Q4_0 + Q4_K + F32, run apart), with
// and without biases, with 1 and 2 threads, for 1 token (decoding) and for several.
TEST(MatmulMulti, MatchesSeparateCalls) {
  const std::vector<std::vector<DType>> groups = {{DType::Q4_0, DType::Q8_0, DType::Q4_0},
                                                  {DType::Q4_K, DType::Q6_K},
                                                  {DType::Q4_0, DType::Q4_K, DType::F32}};
  const int64_t n_in = 512;
  const int64_t rows[] = {67, 16, 130};
  ThreadPool pool1(1), pool2(2);
  for (const auto& types : groups) {
    std::vector<Matrix> ms;
    std::vector<std::vector<float>> biases;
    for (size_t i = 0; i < types.size(); ++i) {
      ms.push_back(random_matrix(types[i], n_in, rows[i], static_cast<uint32_t>(10 + i)));
      biases.push_back(gaussian(static_cast<size_t>(rows[i]), static_cast<uint32_t>(20 + i), 0.1f));
    }
    for (Isa isa : isas()) {
      for (ThreadPool* pool : {&pool1, &pool2}) {
        for (int64_t n_tok : {1, 5, 19}) {
          const auto x = gaussian(static_cast<size_t>(n_tok * n_in), 7, 1.0f);
          std::vector<std::vector<float>> want(types.size()), got(types.size());
          std::vector<MatmulOut> outs;
          for (size_t i = 0; i < types.size(); ++i) {
            want[i].resize(static_cast<size_t>(n_tok * rows[i]));
            got[i].assign(want[i].size(), -1.0f);
            const float* bias = i == 1 ? nullptr : biases[i].data();
            matmul(ms[i].view, x.data(), n_tok, want[i].data(), bias, pool, isa);
            outs.push_back({&ms[i].view, got[i].data(), bias});
          }
          matmul_multi(outs, x.data(), n_tok, pool, isa);
          for (size_t i = 0; i < types.size(); ++i)
            for (size_t k = 0; k < want[i].size(); ++k)
              ASSERT_TRUE(same_bits(got[i][k], want[i][k]))
                  << dtype_name(types[i]) << " " << gemm::isa_name(isa) << " threads "
                  << pool->size() << " tokens " << n_tok << " at " << k;
        }
      }
    }
  }
}

}  // namespace
}  // namespace rs::kernels
