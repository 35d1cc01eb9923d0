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
// scores_avx2 reduces 8 keys at once, so a key's score is the same whether it falls in a group
// of 8 keys or in the tail.
__attribute__((target("avx2,fma,f16c"))) inline float hsum_tree(__m256 x) {
  const __m256 h = _mm256_hadd_ps(x, x);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
}

// s[j] = q . k_j for nk keys k_j = k + j * k_stride (head_dim a multiple of 8). Eight keys at a
// time, each with its own accumulator: eight independent FMA chains instead of one or two, and
// one transposing reduction for the eight sums instead of eight horizontal ones.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void scores_avx2(const float* q, const T* k,
                                                          int64_t k_stride, int64_t nk,
                                                          int64_t head_dim, float* s) {
  int64_t j = 0;
  for (; j + 8 <= nk; j += 8) {
    __m256 acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t d = 0; d < head_dim; d += 8) {
      const __m256 qd = _mm256_loadu_ps(q + d);
      for (int i = 0; i < 8; ++i)
        acc[i] = _mm256_fmadd_ps(qd, load8(k + (j + i) * k_stride + d), acc[i]);
    }
    // hadd pairs: [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7].
    const __m256 t0 = _mm256_hadd_ps(acc[0], acc[1]), t1 = _mm256_hadd_ps(acc[2], acc[3]);
    const __m256 t2 = _mm256_hadd_ps(acc[4], acc[5]), t3 = _mm256_hadd_ps(acc[6], acc[7]);
    // [lo(key 0..3) | hi(key 0..3)] and the same for keys 4..7; lo + hi per key.
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    const __m256 sums =
        _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(s + j, sums);
  }
  for (; j < nk; ++j) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t d = 0; d < head_dim; d += 8)
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8(k + j * k_stride + d), acc);
    s[j] = hsum_tree(acc);
  }
}

template <typename T>
__attribute__((target("avx2,fma,f16c"))) void attend_avx2_t(const AttendArgs& a) {
  const int64_t nk = a.j1 - a.j0;
  const int64_t dv8 = a.head_dim_v / 8 * 8;
  const T* kb = static_cast<const T*>(a.k);
  const T* vb = static_cast<const T*>(a.v);
  for (int h = 0; h < a.n_q; ++h) {
    const float* q = a.q + h * a.q_stride;
    float* s = a.scores + h * nk;
    if (a.head_dim % 8 == 0)
      scores_avx2(q, kb + a.j0 * a.k_stride, a.k_stride, nk, a.head_dim, s);
    else
      for (int64_t j = 0; j < nk; ++j) {
        const T* k = kb + (a.j0 + j) * a.k_stride;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t d = 0;
        for (; d + 16 <= a.head_dim; d += 16) {
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8(k + d), acc0);
          acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), load8(k + d + 8), acc1);
        }
        for (; d + 8 <= a.head_dim; d += 8)
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8(k + d), acc0);
        float sum = hsum(_mm256_add_ps(acc0, acc1));
        for (; d < a.head_dim; ++d) sum += q[d] * load1(k + d);
        s[j] = sum;
      }
    for (int64_t j = 0; j < nk; ++j) s[j] = finish_score(s[j], a);
    softmax_fast(s, nk);
    // out_h = sum_j p_j v_j, 64 (then 32, 8) output values at a time in registers: eight
    // independent FMA chains per key hide the FMA latency. Each value sums over j in order,
    // whatever the chunk.
    float* o = a.out + h * a.o_stride;
    int64_t d = 0;
    for (; d + 64 <= dv8; d += 64) {
      __m256 acc[8];
      for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
      for (int64_t j = 0; j < nk; ++j) {
        const __m256 w = _mm256_set1_ps(s[j]);
        const T* v = vb + (a.j0 + j) * a.v_stride + d;
        for (int i = 0; i < 8; ++i) acc[i] = _mm256_fmadd_ps(w, load8(v + 8 * i), acc[i]);
      }
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(o + d + 8 * i, acc[i]);
    }
    for (; d + 32 <= dv8; d += 32) {
      __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
      for (int64_t j = 0; j < nk; ++j) {
        const __m256 w = _mm256_set1_ps(s[j]);
        const T* v = vb + (a.j0 + j) * a.v_stride + d;
        o0 = _mm256_fmadd_ps(w, load8(v), o0);
        o1 = _mm256_fmadd_ps(w, load8(v + 8), o1);
        o2 = _mm256_fmadd_ps(w, load8(v + 16), o2);
        o3 = _mm256_fmadd_ps(w, load8(v + 24), o3);
      }
      _mm256_storeu_ps(o + d, o0);
      _mm256_storeu_ps(o + d + 8, o1);
      _mm256_storeu_ps(o + d + 16, o2);
      _mm256_storeu_ps(o + d + 24, o3);
    }
    for (; d < dv8; d += 8) {
      __m256 o0 = _mm256_setzero_ps();
      for (int64_t j = 0; j < nk; ++j)
        o0 = _mm256_fmadd_ps(_mm256_set1_ps(s[j]), load8(vb + (a.j0 + j) * a.v_stride + d), o0);
      _mm256_storeu_ps(o + d, o0);
    }
    for (; d < a.head_dim_v; ++d) {
      float acc = 0;
      for (int64_t j = 0; j < nk; ++j) acc += s[j] * load1(vb + (a.j0 + j) * a.v_stride + d);
      o[d] = acc;
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
