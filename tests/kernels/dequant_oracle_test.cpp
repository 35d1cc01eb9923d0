// Dequantizes every tensor of the llama-quantize outputs in oracle/models and compares it with the
// same tensor of the F32 master it was made from. Per-element bounds come from each layout:
//
//   Q8_0  q = round(x/d), |q| <= 127: |x - d16·q| <= d/2 + 127·|d16 - d| <= d16·(1/2 + 127·2^-11)
//         (d16 is d rounded to fp16, relative error <= 2^-11).
//   Q4_0  q = trunc(x/d + 8.5) ∈ [0, 16], 16 clamped to 15, |q-8| <= 8: error <= |d16|·(1/2 +
//   8·2^-11),
//         or <= |d16|·(1 + 8·2^-11) where the nibble is 15 (the clamped opposite extreme).
//   Q4_K  q = round((x + dmin16·m) / (d16·sc)) clamped to [0, 15], computed with the stored fp16
//         and 6-bit values, so an unclamped q (1..14) is within step/2 (step = d16·sc). At q = 0 or
//         15 the value may lie beyond the grid because the scale and min were fitted and then
//         rounded to 6 bits; the bound there is kClampedSteps steps (1.13 observed).
//   Q6_K  q = round(x / (d16·sc)) clamped to [-32, 31]: unclamped within step/2 (step = |d16·sc|),
//         clamped ends within kClampedSteps steps (0.72 observed).
//   F16   exactly fp16(master); F32 tensors (norms) are copied unchanged.
//
// A wrong nibble or bit placement moves values by many steps, so it fails these bounds at once;
// the relative RMS error per tensor must also sit in the range expected for each type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "core/half.h"
#include "oracle_gguf.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

using rs::test::MiniGguf;
using rs::test::MiniTensor;

constexpr double kFp16Rel = 1.0 / 2048;  // relative rounding error of a normal fp16
constexpr double kClampedSteps = 1.5;    // K-quant values at the ends of the grid (see above)

struct TensorStats {
  int64_t n = 0;
  int64_t violations = 0;
  int64_t clamped = 0;  // K-quant elements at the ends of the grid
  double sum_err2 = 0, sum_x2 = 0;
  double max_err_steps = 0;  // largest error of an unclamped element, in quantization steps
  double max_clamped_steps = 0;
  std::string first_violation;

  // Records one element with its error bound and the step it is measured in.
  void add(double x, double y, double bound, double step, bool clamped_end, const char* what,
           int64_t row, int64_t col) {
    const double err = std::fabs(x - y);
    ++n;
    sum_err2 += err * err;
    sum_x2 += x * x;
    if (step > 0) {
      if (clamped_end) {
        ++clamped;
        max_clamped_steps = std::max(max_clamped_steps, err / step);
      } else {
        max_err_steps = std::max(max_err_steps, err / step);
      }
    }
    if (!(err <= bound)) {
      if (violations++ == 0)
        first_violation = std::string(what) + " row " + std::to_string(row) + " col " +
                          std::to_string(col) + ": master " + std::to_string(x) + " dequant " +
                          std::to_string(y) + " bound " + std::to_string(bound);
    }
  }
  double rel_rms() const { return sum_x2 > 0 ? std::sqrt(sum_err2 / sum_x2) : 0; }
};

// Expected relative RMS error (err_rms / x_rms) per type for these Gaussian weights. Observed
// with the reference quantizer: Q8_0 0.0053, Q6_K 0.0177, Q4_K 0.071, Q4_0 0.086. The ranges
// allow about 0.6x..1.5x of that; a layout mistake gives errors of order 1.
struct RmsRange {
  double lo, hi;
};
RmsRange expected_rms(DType t) {
  switch (t) {
    case DType::Q8_0:
      return {0.003, 0.008};
    case DType::Q6_K:
      return {0.010, 0.027};
    case DType::Q4_K:
      return {0.040, 0.110};
    case DType::Q4_0:
      return {0.050, 0.130};
    default:
      return {0, 0};
  }
}

void check_row(const MiniTensor& qt, int64_t r, const float* x, const float* y, TensorStats& st) {
  const int64_t n = qt.row_len();
  const uint8_t* row = qt.row(r);
  const double tiny = 1e-6;  // float rounding in the decoder, relative to the value scale
  switch (qt.type) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) st.add(x[i], y[i], 0, 0, false, "f32", r, i);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i)
        st.add(fp16_to_fp32(fp32_to_fp16(x[i])), y[i], 0, 0, false, "f16", r, i);
      break;
    case DType::Q8_0:
      for (int64_t b = 0; b < n / kQK8_0; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
        const double d = std::fabs(fp16_to_fp32(blk.d));
        const double bound = d * (0.5 + 127 * kFp16Rel) * (1 + tiny) + 1e-12;
        for (int j = 0; j < kQK8_0; ++j) {
          const int64_t i = b * kQK8_0 + j;
          st.add(x[i], y[i], bound, d, false, "q8_0", r, i);
        }
      }
      break;
    case DType::Q4_0:
      for (int64_t b = 0; b < n / kQK4_0; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
        const double d = std::fabs(fp16_to_fp32(blk.d));
        for (int j = 0; j < kQK4_0; ++j) {
          const int nib = j < 16 ? blk.qs[j] & 0xF : blk.qs[j - 16] >> 4;
          const double bound = d * ((nib == 15 ? 1.0 : 0.5) + 8 * kFp16Rel) * (1 + tiny) + 1e-12;
          const int64_t i = b * kQK4_0 + j;
          st.add(x[i], y[i], bound, d, nib == 15, "q4_0", r, i);
        }
      }
      break;
    case DType::Q4_K:
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ4_K*>(row)[b];
        for (int s = 0; s < 8; ++s) {
          uint8_t sc, m;
          q4k_scale_min(s, blk.scales, &sc, &m);
          const double step = static_cast<double>(fp16_to_fp32(blk.d)) * sc;
          const double dm = static_cast<double>(fp16_to_fp32(blk.dmin)) * m;
          for (int l = 0; l < 32; ++l) {
            const int j = 32 * s + l;
            // Value j of the block: group j/64, low nibble for the first 32 of the group.
            const uint8_t byte = blk.qs[32 * (j / 64) + j % 32];
            const int q = (j % 64) < 32 ? byte & 0xF : byte >> 4;
            const bool end = q == 0 || q == 15;
            const double slack = tiny * (std::fabs(x[b * kQK_K + j]) + dm + 15 * step) + 1e-12;
            const double bound = step == 0 ? INFINITY : (end ? kClampedSteps : 0.5) * step + slack;
            const int64_t i = b * kQK_K + j;
            st.add(x[i], y[i], bound, step, end, "q4_K", r, i);
          }
        }
      }
      break;
    case DType::Q6_K:
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ6_K*>(row)[b];
        for (int j = 0; j < kQK_K; ++j) {
          const double step =
              std::fabs(static_cast<double>(fp16_to_fp32(blk.d)) * blk.scales[j / 16]);
          // Bits of value j (layout in quant_blocks.h).
          const int h = j / 128, k = j % 128, l = k % 32, quarter = k / 32;
          const uint8_t lo_byte = blk.ql[64 * h + l + (quarter & 1) * 32];
          const int lo = quarter < 2 ? lo_byte & 0xF : lo_byte >> 4;
          const int hi = (blk.qh[32 * h + l] >> (2 * quarter)) & 3;
          const int q = (lo | hi << 4) - 32;
          const bool end = q == -32 || q == 31;
          const double slack = tiny * (std::fabs(x[b * kQK_K + j]) + 32 * step) + 1e-12;
          const double bound = step == 0 ? INFINITY : (end ? kClampedSteps : 0.5) * step + slack;
          const int64_t i = b * kQK_K + j;
          st.add(x[i], y[i], bound, step, end, "q6_K", r, i);
        }
      }
      break;
    default:
      FAIL() << "unexpected type " << dtype_name(qt.type);
  }
}

void check_file(const std::string& quant_file, const std::string& master_file) {
  const auto dir = rs::test::oracle_models();
  const MiniGguf q(dir / quant_file);
  const MiniGguf master(dir / master_file);
  std::cout << quant_file << " vs " << master_file << "\n";
  int checked = 0;
  for (const auto& qt : q.tensors()) {
    SCOPED_TRACE(quant_file + ": " + qt.name);
    const MiniTensor* mt = master.find(qt.name);
    ASSERT_NE(mt, nullptr);
    ASSERT_EQ(mt->type, DType::F32);
    ASSERT_EQ(mt->ne, qt.ne);
    ASSERT_TRUE(is_supported(qt.type));
    const int64_t n = qt.row_len();
    std::vector<float> y(static_cast<size_t>(n));
    TensorStats st;
    for (int64_t r = 0; r < qt.n_rows(); ++r) {
      dequantize_row(qt.type, qt.row(r), y.data(), n);
      check_row(qt, r, reinterpret_cast<const float*>(mt->row(r)), y.data(), st);
    }
    EXPECT_EQ(st.violations, 0) << st.first_violation;
    if (qt.type != DType::F32 && qt.type != DType::F16) {
      const auto [lo, hi] = expected_rms(qt.type);
      EXPECT_GE(st.rel_rms(), lo);
      EXPECT_LE(st.rel_rms(), hi);
      std::printf("  %-26s %-5s rel_rms %.5f  max_err %.3f step  clamped %lld (max %.3f step)\n",
                  qt.name.c_str(), std::string(dtype_name(qt.type)).c_str(), st.rel_rms(),
                  st.max_err_steps, static_cast<long long>(st.clamped), st.max_clamped_steps);
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(master.tensors().size()));
}

TEST(DequantOracle, LlamaSpmF16) {
  RS_REQUIRE_SHARED();
  check_file("llama-spm-f16.gguf", "llama-spm-f32.gguf");
}
TEST(DequantOracle, LlamaSpmQ8_0) {
  RS_REQUIRE_SHARED();
  check_file("llama-spm-q8_0.gguf", "llama-spm-f32.gguf");
}
TEST(DequantOracle, LlamaSpmQ4_0) {
  RS_REQUIRE_SHARED();
  check_file("llama-spm-q4_0.gguf", "llama-spm-f32.gguf");
}
TEST(DequantOracle, LlamaSpmQ6_K) {
  RS_REQUIRE_SHARED();
  check_file("llama-spm-q6_k.gguf", "llama-spm-f32.gguf");
}
TEST(DequantOracle, LlamaSpmQ4_K_M) {
  RS_REQUIRE_SHARED();
  check_file("llama-spm-q4_k_m.gguf", "llama-spm-f32.gguf");
}
TEST(DequantOracle, Qwen2Q8_0) {
  RS_REQUIRE_SHARED();
  check_file("qwen2-q8_0.gguf", "qwen2-f32.gguf");
}

}  // namespace
}  // namespace rs::kernels
