// dot_row against a double-precision dot of dequantize_row, for every type on random rows; the
// API's edge cases (n = 0, bad n, unsupported types); and quantize/dequantize round trips on
// synthetic blocks (zeros, constants, spikes) that the Gaussian oracle weights never produce.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                           DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q6_K};

std::vector<uint8_t> row_buffer(DType t, int64_t n) {
  return std::vector<uint8_t>(row_bytes(dtype_info(t), static_cast<uint64_t>(n)));
}

std::vector<float> gaussian(std::mt19937& rng, int64_t n, float sd) {
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// Random bytes for a row of t, with every fp16 scale replaced by a finite value in [-2, 2] so
// that all bit patterns of the quants (which random quantizer output may not reach) are covered.
std::vector<uint8_t> random_row_bytes(std::mt19937& rng, DType t, int64_t n) {
  auto buf = row_buffer(t, n);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-2.0f, 2.0f);
  auto set_half = [&](uint8_t* p) {
    const uint16_t h = fp32_to_fp16(scale(rng));
    std::memcpy(p, &h, 2);
  };
  const size_t bb = dtype_info(t).block_bytes;
  for (size_t off = 0; off < buf.size(); off += bb) {
    uint8_t* blk = buf.data() + off;
    switch (t) {
      case DType::F16:
        set_half(blk);
        break;
      case DType::BF16: {
        const uint16_t h = fp32_to_bf16(scale(rng));
        std::memcpy(blk, &h, 2);
        break;
      }
      case DType::F32: {
        const float f = scale(rng);
        std::memcpy(blk, &f, 4);
        break;
      }
      case DType::Q8_0:
      case DType::Q4_0:
      case DType::Q5_0:
        set_half(blk);
        break;  // d at offset 0
      case DType::Q4_K:
        set_half(blk);
        set_half(blk + 2);
        break;  // d, dmin
      case DType::Q6_K:
        set_half(blk + offsetof(BlockQ6_K, d));
        break;  // d at the end
      default:
        break;
    }
  }
  return buf;
}

void expect_dot_matches(DType t, const uint8_t* row, const std::vector<float>& x, int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  dequantize_row(t, row, w.data(), n);
  double ref = 0, mag = 0;
  for (int64_t i = 0; i < n; ++i) {
    ref += static_cast<double>(w[i]) * x[i];
    mag += std::fabs(static_cast<double>(w[i]) * x[i]);
  }
  const float got = dot_row(t, row, x.data(), n);
  // Relative to sum |w_i x_i|: the error of any float summation scales with it, while |ref| can
  // be arbitrarily small through cancellation.
  EXPECT_LE(std::fabs(got - ref), 1e-5 * mag + 1e-30)
      << dtype_name(t) << " n=" << n << " got " << got << " want " << ref;
}

TEST(DotRow, MatchesDoubleDotOfDequantizedRow) {
  std::mt19937 rng(1234);
  for (DType t : kAllTypes) {
    const int64_t bs = dtype_info(t).block_size;
    for (int64_t n : {bs, 2 * bs, 3 * bs, int64_t{4096}, int64_t{4096 + 256}}) {
      if (n % bs != 0) continue;
      SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(n));
      for (int rep = 0; rep < 5; ++rep) {
        const auto w = gaussian(rng, n, 0.1f);
        const auto x = gaussian(rng, n, 1.0f);
        auto row = row_buffer(t, n);
        quantize_row(t, w.data(), row.data(), n);
        expect_dot_matches(t, row.data(), x, n);
        const auto rnd = random_row_bytes(rng, t, n);
        expect_dot_matches(t, rnd.data(), x, n);
      }
    }
  }
}

TEST(DotRow, OddLengthsForPlainTypes) {
  std::mt19937 rng(7);
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    for (int64_t n : {1, 3, 7, 9, 255, 257, 1001}) {
      const auto w = gaussian(rng, n, 1.0f);
      const auto x = gaussian(rng, n, 1.0f);
      auto row = row_buffer(t, n);
      quantize_row(t, w.data(), row.data(), n);
      expect_dot_matches(t, row.data(), x, n);
    }
  }
}

TEST(KernelApi, ZeroLengthRows) {
  for (DType t : kAllTypes) {
    EXPECT_TRUE(is_supported(t));
    EXPECT_EQ(dot_row(t, nullptr, nullptr, 0), 0.0f);
    EXPECT_NO_THROW(dequantize_row(t, nullptr, nullptr, 0));
    EXPECT_NO_THROW(quantize_row(t, nullptr, nullptr, 0));
  }
}

TEST(KernelApi, RejectsUnsupportedTypesAndPartialBlocks) {
  for (DType t : {DType::Q4_1, DType::Q5_K, DType::Q8_K, DType::I32, DType::F64}) {
    EXPECT_FALSE(is_supported(t));
    float f[256] = {};
    uint8_t buf[1024] = {};
    EXPECT_THROW(dot_row(t, buf, f, 256), rs::Error);
    EXPECT_THROW(dequantize_row(t, buf, f, 256), rs::Error);
    EXPECT_THROW(quantize_row(t, f, buf, 256), rs::Error);
  }
  float f[256] = {};
  uint8_t buf[1024] = {};
  EXPECT_THROW(dot_row(DType::Q8_0, buf, f, 16), rs::Error);
  EXPECT_THROW(dequantize_row(DType::Q4_K, buf, f, 128), rs::Error);
  EXPECT_THROW(quantize_row(DType::Q6_K, f, buf, 32), rs::Error);
}

// Round trip of one synthetic row. Within each group of 256 values (one K-quant super-block, 8
// or all of the smaller blocks) the largest error may be max_rel_err × max |x| of that group.
void round_trip(DType t, const std::vector<float>& x, double max_rel_err) {
  const auto n = static_cast<int64_t>(x.size());
  auto row = row_buffer(t, n);
  quantize_row(t, x.data(), row.data(), n);
  std::vector<float> y(x.size());
  dequantize_row(t, row.data(), y.data(), n);
  for (size_t g = 0; g < x.size(); g += 256) {
    double amax = 0, err = 0;
    for (size_t i = g; i < g + 256 && i < x.size(); ++i) {
      amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
      err = std::max(err, std::fabs(static_cast<double>(x[i]) - y[i]));
      ASSERT_TRUE(std::isfinite(y[i])) << dtype_name(t) << " value " << i;
    }
    EXPECT_LE(err, max_rel_err * amax) << dtype_name(t) << " group at " << g;
  }
}

// Worst-case error as a fraction of the block's max |x| (one grid step ≈ amax/levels, plus
// margin for the fitted K-quant scales).
double rel_bound(DType t) {
  switch (t) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1.0 / 2048;
    case DType::BF16:
      return 1.0 / 256;
    case DType::Q8_0:
      return 0.6 / 127;
    case DType::Q4_0:
      return 1.05 / 8;
    case DType::Q5_0:
      return 1.05 / 16;
    case DType::Q6_K:
      return 2.0 / 32;
    case DType::Q4_K:
      return 2.0 / 15;
    default:
      return 1;
  }
}

TEST(RoundTrip, ZerosStayZero) {
  for (DType t : kAllTypes) {
    std::vector<float> x(512, 0.0f);
    auto row = row_buffer(t, 512);
    std::memset(row.data(), 0xAB, row.size());
    quantize_row(t, x.data(), row.data(), 512);
    // Every field is zero, scales included, except in Q4_0: there ggml computes d = 0 / -8 = -0
    // (fp16 0x8000) and q = trunc(0 + 8.5) = 8 (nibble bytes 0x88); both decode to zero.
    for (size_t i = 0; i < row.size(); ++i) {
      uint8_t want = 0;
      if (t == DType::Q4_0)
        want = i % sizeof(BlockQ4_0) == 0 ? 0x00 : i % sizeof(BlockQ4_0) == 1 ? 0x80 : 0x88;
      if (t == DType::Q5_0)  // likewise q = 16: nibbles 0, every fifth bit set
        want = i % sizeof(BlockQ5_0) == 1 ? 0x80 : (i % sizeof(BlockQ5_0) >= 2 && i % sizeof(BlockQ5_0) < 6) ? 0xFF : 0x00;
      ASSERT_EQ(row[i], want) << dtype_name(t) << " byte " << i;
    }
    std::vector<float> y(512, 1.0f);
    dequantize_row(t, row.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(RoundTrip, SyntheticBlocks) {
  std::mt19937 rng(99);
  for (DType t : kAllTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    std::vector<float> constant(512, 0.75f), negative(512, -0.3f), ramp(512), spike(512, 0.0f);
    for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = -1.0f + 2.0f * static_cast<float>(i) / 511;
    spike[37] = 5.0f;
    spike[300] = -2.0f;
    std::vector<float> mixed = gaussian(rng, 512, 1.0f);
    // Second super-block 4x smaller (not more: the fp16 scales of Q6_K would turn subnormal).
    for (size_t i = 256; i < 512; ++i) mixed[i] *= 0.25f;
    // In `mixed` the second half must be as accurate relative to its own size: scales are per
    // block, not per row.
    for (const auto* x : {&constant, &negative, &ramp, &spike, &mixed})
      round_trip(t, *x, rel_bound(t));
  }
}

}  // namespace
}  // namespace rs::kernels
