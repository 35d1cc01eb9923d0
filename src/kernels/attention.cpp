// kernels/attention.h. The AVX2 variant is compiled for AVX2+FMA by a function attribute (the
// rest of this file, and the binary, stay baseline x86-64) and chosen at run time.
#include "kernels/attention.h"

#include <cmath>

#include "core/half.h"
#include "kernels/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/vec_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rs::kernels {
namespace {

float finish_score(float s, const AttendArgs& a) {
  s *= a.scale;
  if (a.softcap > 0) s = a.softcap * std::tanh(s / a.softcap);
  return s;
}

}  // namespace

namespace {

inline float load1(const float* p) {
  return *p;
}
inline float load1(const uint16_t* p) {
  return fp16_to_fp32(*p);
}

template <typename T>
void attend_scalar_t(const AttendArgs& a) {
  const int64_t nk = a.j1 - a.j0;
  const T* kb = static_cast<const T*>(a.k);
  const T* vb = static_cast<const T*>(a.v);
  for (int h = 0; h < a.n_q; ++h) {
    const float* q = a.q + h * a.q_stride;
    float* s = a.scores + h * nk;
    for (int64_t j = 0; j < nk; ++j) {
      const T* k = kb + (a.j0 + j) * a.k_stride;
      float acc[8] = {};
      int64_t d = 0;
      for (; d + 8 <= a.head_dim; d += 8)
        for (int l = 0; l < 8; ++l) acc[l] += q[d + l] * load1(k + d + l);
      float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; d < a.head_dim; ++d) sum += q[d] * load1(k + d);
      s[j] = finish_score(sum, a);
    }
    softmax(s, nk);
    float* o = a.out + h * a.o_stride;
    for (int64_t d = 0; d < a.head_dim_v; ++d) o[d] = 0;
    for (int64_t j = 0; j < nk; ++j) {
      const float w = s[j];
      if (w == 0) continue;
      const T* v = vb + (a.j0 + j) * a.v_stride;
      for (int64_t d = 0; d < a.head_dim_v; ++d) o[d] += w * load1(v + d);
    }
  }
}

}  // namespace

void attend_scalar(const AttendArgs& a) {
  if (a.kv_f16)
    attend_scalar_t<uint16_t>(a);
  else
    attend_scalar_t<float>(a);
}

#if defined(__x86_64__)
namespace {

__attribute__((target("avx2,fma"))) float hsum(__m256 x) {
  const __m128 lo = _mm256_castps256_ps128(x), hi = _mm256_extractf128_ps(x, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Sum of the 8 lanes in the order ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)): the order in which
// attend_heads reduces 4 keys at once (hsum4_tree), so a key's score is the same whether it falls
// in a group of keys or in the tail.
__attribute__((target("avx2,fma,f16c"))) inline float hsum_tree(__m256 x) {
  const __m256 h = _mm256_hadd_ps(x, x);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
}

// Lanes 0-3 of the result: the sums of a, b, c, d, each ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)),
// the order of hsum_tree.
__attribute__((target("avx2,fma,f16c"))) inline __m128 hsum4_tree(__m256 a, __m256 b, __m256 c,
                                                                  __m256 d) {
  // hadd pairs: [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7].
  const __m256 t0 = _mm256_hadd_ps(a, b), t1 = _mm256_hadd_ps(c, d);
  // [lo(key 0..3) | hi(key 0..3)]; lo + hi per key.
  const __m256 u = _mm256_hadd_ps(t0, t1);
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

// Query heads h0 .. h0 + HB - 1 of a call (head_dim a multiple of 8 for the grouped scores).
// The heads of a group share their keys and values, so each key's and value's 8-element load
// (and f16 conversion) serves all HB heads: with a conversion per multiply-add, the loads were
// the limit. Per (head, key) the operations and their order are those of one head alone: the
// score is one accumulator over d in steps of 8 reduced by the hsum_tree order, the output values
// each sum p_j v_j over j in order. Keys go K at a time and output values NV vectors at a time,
// so that HB · K and HB · NV independent FMA chains hide the FMA latency.
template <int HB, typename T>
__attribute__((target("avx2,fma,f16c"))) void attend_heads(const AttendArgs& a, int h0) {
  constexpr int K = HB == 1 ? 8 : 4, NV = HB == 1 ? 8 : 4;
  const int64_t nk = a.j1 - a.j0;
  const T* kb = static_cast<const T*>(a.k) + a.j0 * a.k_stride;
  const T* vb = static_cast<const T*>(a.v) + a.j0 * a.v_stride;
  const int64_t k_stride = a.k_stride, v_stride = a.v_stride, head_dim = a.head_dim;
  const float* q[HB];
  float* s[HB];
  for (int h = 0; h < HB; ++h) {
    q[h] = a.q + (h0 + h) * a.q_stride;
    s[h] = a.scores + (h0 + h) * nk;
  }
  int64_t j = 0;
  if (head_dim % 8 == 0) {
    for (; j + K <= nk; j += K) {
      // acc[K·h + i]: head h, key j + i. (One-dimensional: GCC kept a two-dimensional array of
      // accumulators in memory, storing it every iteration.)
      __m256 acc[HB * K];
      for (int i = 0; i < HB * K; ++i) acc[i] = _mm256_setzero_ps();
      const T* kj = kb + j * k_stride;
      for (int64_t d = 0; d < head_dim; d += 8)
        for (int i = 0; i < K; ++i) {
          const __m256 kd = load8(kj + i * k_stride + d);
          for (int h = 0; h < HB; ++h)
            acc[K * h + i] = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + d), kd, acc[K * h + i]);
        }
      for (int h = 0; h < HB; ++h)
        for (int i = 0; i < K; i += 4)
          _mm_storeu_ps(s[h] + j + i, hsum4_tree(acc[K * h + i], acc[K * h + i + 1],
                                                 acc[K * h + i + 2], acc[K * h + i + 3]));
    }
    for (; j < nk; ++j)
      for (int h = 0; h < HB; ++h) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t d = 0; d < head_dim; d += 8)
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + d), load8(kb + j * k_stride + d), acc);
        s[h][j] = hsum_tree(acc);
      }
  } else {
    for (int h = 0; h < HB; ++h)
      for (j = 0; j < nk; ++j) {
        const T* k = kb + j * k_stride;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t d = 0;
        for (; d + 16 <= head_dim; d += 16) {
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + d), load8(k + d), acc0);
          acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + d + 8), load8(k + d + 8), acc1);
        }
        for (; d + 8 <= head_dim; d += 8)
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + d), load8(k + d), acc0);
        float sum = hsum(_mm256_add_ps(acc0, acc1));
        for (; d < head_dim; ++d) sum += q[h][d] * load1(k + d);
        s[h][j] = sum;
      }
  }
  for (int h = 0; h < HB; ++h) {
    for (j = 0; j < nk; ++j) s[h][j] = finish_score(s[h][j], a);
    softmax_fast(s[h], nk);
  }
  // out_h = sum_j p_j v_j.
  float* o[HB];
  for (int h = 0; h < HB; ++h) o[h] = a.out + (h0 + h) * a.o_stride;
  const int64_t dv8 = a.head_dim_v / 8 * 8;
  int64_t d = 0;
  for (; d + 8 * NV <= dv8; d += 8 * NV) {
    __m256 acc[HB * NV];  // acc[NV·h + i]: head h, values d + 8i ..
    for (int i = 0; i < HB * NV; ++i) acc[i] = _mm256_setzero_ps();
    const T* v = vb + d;
    for (j = 0; j < nk; ++j, v += v_stride) {
      __m256 w[HB];
      for (int h = 0; h < HB; ++h) w[h] = _mm256_broadcast_ss(s[h] + j);
      for (int i = 0; i < NV; ++i) {
        const __m256 vd = load8(v + 8 * i);
        for (int h = 0; h < HB; ++h) acc[NV * h + i] = _mm256_fmadd_ps(w[h], vd, acc[NV * h + i]);
      }
    }
    for (int h = 0; h < HB; ++h)
      for (int i = 0; i < NV; ++i) _mm256_storeu_ps(o[h] + d + 8 * i, acc[NV * h + i]);
  }
  for (; d < dv8; d += 8) {
    __m256 acc[HB];
    for (int h = 0; h < HB; ++h) acc[h] = _mm256_setzero_ps();
    for (j = 0; j < nk; ++j) {
      const __m256 vd = load8(vb + j * v_stride + d);
      for (int h = 0; h < HB; ++h)
        acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(s[h] + j), vd, acc[h]);
    }
    for (int h = 0; h < HB; ++h) _mm256_storeu_ps(o[h] + d, acc[h]);
  }
  for (; d < a.head_dim_v; ++d)
    for (int h = 0; h < HB; ++h) {
      float acc = 0;
      for (j = 0; j < nk; ++j) acc += s[h][j] * load1(vb + j * v_stride + d);
      o[h][d] = acc;
    }
}

// Heads in groups of up to three (12 accumulators of the 16 AVX2 registers); four as two pairs.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void attend_avx2_t(const AttendArgs& a) {
  for (int h0 = 0; h0 < a.n_q;) {
    const int left = a.n_q - h0;
    if (left >= 3 && left != 4) {
      attend_heads<3, T>(a, h0);
      h0 += 3;
    } else if (left >= 2) {
      attend_heads<2, T>(a, h0);
      h0 += 2;
    } else {
      attend_heads<1, T>(a, h0);
      h0 += 1;
    }
  }
}

}  // namespace
#endif

#if defined(__x86_64__)
static const bool kAvx2 = cpu_has_avx2_fma_f16c();
#endif

void attend(const AttendArgs& a) {
#if defined(__x86_64__)
  if (kAvx2) return a.kv_f16 ? attend_avx2_t<uint16_t>(a) : attend_avx2_t<float>(a);
#endif
  attend_scalar(a);
}

}  // namespace rs::kernels
