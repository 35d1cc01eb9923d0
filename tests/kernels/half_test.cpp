// fp16 and bf16 rows through the kernel API: exhaustive round trips over every 16-bit pattern,
// an independent exact decoder, and round-to-nearest-even on hand-picked ties.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/quant.h"

namespace rs::kernels {
namespace {

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

bool fp16_is_nan(uint16_t h) {
  return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;
}
bool bf16_is_nan(uint16_t h) {
  return (h & 0x7F80) == 0x7F80 && (h & 0x007F) != 0;
}

// Textbook fp16 value: (-1)^s × 2^(e-15) × 1.m, subnormals 2^-14 × 0.m, e = 31 → inf.
double fp16_reference_value(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0)
    v = std::ldexp(m, -24);
  else if (e == 31)
    v = INFINITY;
  else
    v = std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

// Independent fp32 -> fp16, round to nearest even, computed on the exact value in double.
uint16_t fp16_reference_round(float f) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(f));
  if (a >= 65520.0) return sign | 0x7C00;  // 65520 is the tie between 65504 and 2^16 → inf
  if (a < std::ldexp(1.0, -14)) {          // subnormal grid of 2^-24 (1024 → smallest normal)
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(std::ldexp(a, 24))));
  }
  int e;
  std::frexp(a, &e);                                 // a = f·2^e, f in [0.5, 1)
  double m = std::nearbyint(std::ldexp(a, 11 - e));  // 11 significant bits: [1024, 2048]
  if (m == 2048) {
    m = 1024;
    ++e;
  }
  return static_cast<uint16_t>(sign | ((e - 1 + 15) << 10) | (static_cast<int>(m) - 1024));
}

uint16_t to_fp16(float f) {
  uint16_t h;
  quantize_row(DType::F16, &f, &h, 1);
  return h;
}
uint16_t to_bf16(float f) {
  uint16_t h;
  quantize_row(DType::BF16, &f, &h, 1);
  return h;
}

TEST(Fp16, ExhaustiveRoundTripAndExactValues) {
  std::vector<uint16_t> all(65536), back(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> f(65536);
  dequantize_row(DType::F16, all.data(), f.data(), 65536);
  quantize_row(DType::F16, f.data(), back.data(), 65536);
  int bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    if (fp16_is_nan(h)) {
      if (!std::isnan(f[i]) || !fp16_is_nan(back[i])) ++bad;
      continue;
    }
    const double want = fp16_reference_value(h);
    if (static_cast<double>(f[i]) != want || std::signbit(f[i]) != std::signbit(want) ||
        back[i] != h) {
      if (++bad < 10)
        ADD_FAILURE() << std::hex << "fp16 0x" << i << " -> " << f[i] << " -> 0x" << back[i];
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(Fp16, RoundsToNearestEven) {
  struct Case {
    float in;
    uint16_t want;
  };
  const float ulp1 = std::ldexp(1.0f, -10);  // fp16 spacing in [1, 2)
  const Case cases[] = {
      {1.0f, 0x3C00},
      {1.0f + ulp1 / 2, 0x3C00},                        // tie, even is 1.0
      {1.0f + 3 * ulp1 / 2, 0x3C02},                    // tie, even is 1 + 2ulp
      {std::nextafter(1.0f + ulp1 / 2, 2.0f), 0x3C01},  // just above the tie
      {std::nextafter(1.0f + 3 * ulp1 / 2, 0.0f), 0x3C01},
      {-(1.0f + ulp1 / 2), 0xBC00},
      {65504.0f, 0x7BFF},  // largest finite
      {65519.996f, 0x7BFF},
      {65520.0f, 0x7C00},  // tie between 65504 and 2^16: rounds to inf
      {1e10f, 0x7C00},
      {-INFINITY, 0xFC00},
      {std::ldexp(1.0f, -24), 0x0001},  // smallest subnormal
      {std::ldexp(1.0f, -25), 0x0000},  // tie, even is 0
      {std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001},
      {3 * std::ldexp(1.0f, -25), 0x0002},                      // tie 1.5 subnormal ulps → 2
      {5 * std::ldexp(1.0f, -25), 0x0002},                      // tie 2.5 → 2
      {std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 0x0400},  // tie below the smallest normal
      {-0.0f, 0x8000},
      {0.0f, 0x0000},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_fp16(c.in), c.want)
        << "input " << c.in << std::hex << " bits 0x" << float_to_bits(c.in);
    EXPECT_EQ(fp16_reference_round(c.in), c.want) << "reference disagrees on " << c.in;
  }
  EXPECT_TRUE(fp16_is_nan(to_fp16(NAN)));
}

TEST(Fp16, MatchesIndependentRoundingOnAStrideOfAllFloats) {
  // 4.3 million fp32 patterns spread over the whole range, both signs.
  int bad = 0;
  for (uint64_t u = 0; u < (1ull << 32); u += 997) {
    const float f = bits_to_float(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    const uint16_t got = to_fp16(f), want = fp16_reference_round(f);
    if (got != want && ++bad < 10)
      ADD_FAILURE() << std::hex << "0x" << u << ": got 0x" << got << " want 0x" << want;
  }
  EXPECT_EQ(bad, 0);
}

TEST(Bf16, ExhaustiveRoundTrip) {
  std::vector<uint16_t> all(65536), back(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> f(65536);
  dequantize_row(DType::BF16, all.data(), f.data(), 65536);
  quantize_row(DType::BF16, f.data(), back.data(), 65536);
  int bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    // bf16 is the top half of an fp32: the value is exact by construction.
    const bool ok = bf16_is_nan(h) ? std::isnan(f[i]) && bf16_is_nan(back[i])
                                   : float_to_bits(f[i]) == (i << 16) && back[i] == h;
    if (!ok && ++bad < 10) ADD_FAILURE() << std::hex << "bf16 0x" << i << " -> 0x" << back[i];
  }
  EXPECT_EQ(bad, 0);
}

TEST(Bf16, RoundsToNearestEven) {
  const float ulp1 = std::ldexp(1.0f, -7);          // bf16 spacing in [1, 2)
  EXPECT_EQ(to_bf16(1.0f + ulp1 / 2), 0x3F80);      // tie → even (1.0)
  EXPECT_EQ(to_bf16(1.0f + 3 * ulp1 / 2), 0x3F82);  // tie → even (1 + 2ulp)
  EXPECT_EQ(to_bf16(std::nextafter(1.0f + ulp1 / 2, 2.0f)), 0x3F81);
  EXPECT_EQ(to_bf16(-(1.0f + ulp1 / 2)), 0xBF80);
  EXPECT_EQ(to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to inf
  EXPECT_EQ(to_bf16(INFINITY), 0x7F80);
  EXPECT_TRUE(bf16_is_nan(to_bf16(NAN)));
  // A NaN whose payload sits only in the low 16 bits must stay NaN, not become inf.
  EXPECT_TRUE(bf16_is_nan(to_bf16(bits_to_float(0x7F800001u))));
}

// quantize_row(F16) (vectorised with F16C, as K and V enter an f16 KV cache) rounds exactly as the
// scalar conversion (nearest even), tails included, for ordinary values, halfway cases, subnormals,
// overflow and specials.
TEST(StoreF16, MatchesScalarConversion) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 100);
  std::vector<float> x(1000);
  for (float& v : x) v = nd(rng);
  const float specials[] = {0.0f,
                            -0.0f,
                            1.0f + 0x1p-11f,
                            1.0f + 3 * 0x1p-11f,
                            65504.0f,
                            65520.0f,
                            1e9f,
                            -1e9f,
                            0x1p-20f,
                            -0x1p-24f,
                            0x1p-30f,
                            std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  std::copy(std::begin(specials), std::end(specials), x.begin());
  for (int64_t n : {0, 1, 7, 8, 13, 1000}) {
    std::vector<uint16_t> got(static_cast<size_t>(n) + 1, 0xABCD);
    quantize_row(DType::F16, x.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(got[i], fp32_to_fp16(x[i])) << "n " << n << " i " << i << " x " << x[i];
    EXPECT_EQ(got[n], 0xABCD) << "wrote past the end, n " << n;
  }
}

}  // namespace
}  // namespace rs::kernels
