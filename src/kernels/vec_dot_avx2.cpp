// AVX2 + FMA + F16C kernels of vec_dot.h. This file alone is compiled with -mavx2 -mfma -mf16c
// (see src/CMakeLists.txt) and only called after simd_available() checked the CPU.
//
// Why intrinsics and not Highway: the 8-bit dots hinge on vpmaddubsw (u8 × i8 → pairwise i16),
// which the Highway release in Debian bookworm (1.0.3) does not expose; widening to i16 first
// would double the instructions of the hot loop.
#include <immintrin.h>

#include <cstring>

#include "kernels/vec_dot.h"

namespace rs::kernels::avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// 16 bytes of packed nibbles -> 32 bytes: value j (< 16) = low nibble of byte j, value j + 16 =
// high nibble (the Q4_0 order).
inline __m256i unpack_nibbles(const uint8_t* p) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Σ over 32 signed bytes of w·a, as 8 int32 lanes.
inline __m256i dot_i8(__m256i w, __m256i a) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

float dot_q8_0(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const BlockQ8_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  const int64_t nb = n / kQK8_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const __m256i d0 = dot_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    const __m256i d1 = dot_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b + 1].qs)),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b + 1].qs)));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b + 1].d) * h2f(a[b + 1].d)), _mm256_cvtepi32_ps(d1), acc1);
  }
  for (; b < nb; ++b) {
    const __m256i d0 = dot_i8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs)),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

// Q4_0: unsigned nibbles u in [0, 15] go straight into vpmaddubsw (no sign juggling), and the
// −8 offset is taken off as 8·Σa, itself one vpmaddubsw of the constant 8 with a.
inline __m256i dot_q4_block(const BlockQ4_0& w, __m256i a) {
  const __m256i u = unpack_nibbles(w.qs);
  const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(u, a), _mm256_maddubs_epi16(_mm256_set1_epi8(8), a));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

float dot_q4_0(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const BlockQ4_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  const int64_t nb = n / kQK4_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const __m256i d0 = dot_q4_block(w[b], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    const __m256i d1 = dot_q4_block(w[b + 1], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b + 1].qs)));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b + 1].d) * h2f(a[b + 1].d)), _mm256_cvtepi32_ps(d1), acc1);
  }
  for (; b < nb; ++b) {
    const __m256i d0 = dot_q4_block(w[b], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), _mm256_cvtepi32_ps(d0), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

// 32 bits -> 32 bytes, 0xFF where the bit is set.
inline __m256i bytes_from_bits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  // Byte i takes byte i/8 of `bits`, then keeps only bit i%8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Q5_0: nibble | fifth bit, minus 16. Where the fifth bit is clear, OR-ing 0xF0 into the nibble
// gives nibble − 16 in two's complement; where it is set the nibble is already q − 16 + 16 − 16.
float dot_q5_0(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const BlockQ5_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  const int64_t nb = n / kQK4_0;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i hi = _mm256_andnot_si256(bytes_from_bits(w[b].qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(unpack_nibbles(w[b].qs), hi);
    const __m256i d = dot_i8(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(a[b].d)), _mm256_cvtepi32_ps(d), acc);
  }
  return hsum(acc);
}

// Q4_K: per 256-block, four groups of 64 values: low nibbles are sub-block 2g, high nibbles 2g+1.
// Σ x·a = d_a·(d·Σ_s sc_s·Σ q·a − dmin·Σ_s m_s·Σ a), with Σ a per sub-block from the bsums.
float dot_q4_K(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const BlockQ4_K*>(wp);
  const auto* a = static_cast<const BlockQ8K*>(ap);
  const int64_t nb = n / kQK_K;
  const __m256i low = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  float acc_m = 0;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) q4k_scale_min(s, w[b].scales, &sc[s], &mn[s]);
    int32_t sum_m = 0;
    for (int s = 0; s < 8; ++s) sum_m += mn[s] * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]);
    __m256i sumi = _mm256_setzero_si256();
    const uint8_t* q = w[b].qs;
    const int8_t* y = a[b].qs;
    for (int g = 0; g < 4; ++g, q += 32, y += 64) {
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
      const __m256i q_lo = _mm256_and_si256(bytes, low);
      const __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
      const __m256i p_lo = _mm256_maddubs_epi16(q_lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y)));
      const __m256i p_hi = _mm256_maddubs_epi16(q_hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 32)));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(sc[2 * g])));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(sc[2 * g + 1])));
    }
    const float d = a[b].d * h2f(w[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    acc_m += a[b].d * h2f(w[b].dmin) * static_cast<float>(sum_m);
  }
  return hsum(acc) - acc_m;
}

// Q6_K: q in [0, 63] from 4 low bits (ql) and 2 high bits (qh); Σ (q − 32)·a per 16-value
// sub-block times its int8 scale. The −32 offset is 32·Σa, taken off per pair of values.
float dot_q6_K(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const BlockQ6_K*>(wp);
  const auto* a = static_cast<const BlockQ8K*>(ap);
  const int64_t nb = n / kQK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3), k32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ql = w[b].ql;
    const uint8_t* qh = w[b].qh;
    const int8_t* sc = w[b].scales;
    const int8_t* y = a[b].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
      };
      for (int k = 0; k < 4; ++k) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 32 * k));
        const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], av), _mm256_maddubs_epi16(k32, av));
        // The first 16 values (i16 lanes 0-7) are sub-block 2k, the next 16 sub-block 2k+1.
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(a[b].d * h2f(w[b].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

float dot_f32(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const float*>(wp);
  const auto* x = static_cast<const float*>(ap);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * k), _mm256_loadu_ps(x + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), acc[0]);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += w[i] * x[i];
  return s;
}

template <bool kBf16>
inline __m256 load_half8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kBf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  else return _mm256_cvtph_ps(h);
}

template <bool kBf16>
float dot_half(const void* wp, const void* ap, int64_t n) {
  const auto* w = static_cast<const uint16_t*>(wp);
  const auto* x = static_cast<const float*>(ap);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(load_half8<kBf16>(w + i + 8 * k), _mm256_loadu_ps(x + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load_half8<kBf16>(w + i), _mm256_loadu_ps(x + i), acc[0]);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) {
    uint32_t bits = static_cast<uint32_t>(w[i]) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    s += (kBf16 ? v : _cvtsh_ss(w[i])) * x[i];
  }
  return s;
}

}  // namespace

VecDotFn vec_dot_for(DType t) {
  switch (t) {
    case DType::F32: return dot_f32;
    case DType::F16: return dot_half<false>;
    case DType::BF16: return dot_half<true>;
    case DType::Q8_0: return dot_q8_0;
    case DType::Q4_0: return dot_q4_0;
    case DType::Q5_0: return dot_q5_0;
    case DType::Q4_K: return dot_q4_K;
    case DType::Q6_K: return dot_q6_K;
    default: return nullptr;
  }
}

// Same results as the scalar quantize_q8_0 (vec_dot.cpp): amax/127 as fp16, x·(127/amax)
// rounded half-to-even.
void quantize_act_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, v[k]));
    }
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(amax, 1), _mm256_castps256_ps128(amax));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float max_scalar = _mm_cvtss_f32(m);
    y[b].d = _cvtss_sh(max_scalar / 127.0f, 0);
    const __m256 mul = _mm256_set1_ps(max_scalar != 0.0f ? 127.0f / max_scalar : 0.0f);
    __m256i i32[4];
    for (int k = 0; k < 4; ++k)
      i32[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], mul), _MM_ROUND_NEAREST | _MM_FROUND_NO_EXC));
    // Pack 32 int32 -> 32 int8; the packs interleave 128-bit lanes, the permute restores order.
    const __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]);
    const __m256i i16b = _mm256_packs_epi32(i32[2], i32[3]);
    const __m256i i8 = _mm256_packs_epi16(i16a, i16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), ordered);
  }
}

}  // namespace rs::kernels::avx2
