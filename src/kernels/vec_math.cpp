#include "kernels/vec_math.h"

#include <cmath>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/ops.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rs::kernels {
namespace {

#if defined(__x86_64__)
// e^x for 8 floats (x clamped to [-87.3, 88.7]): x = n·ln2 + r, |r| <= ln2/2, e^r by Cephes'
// polynomial, 2^n through the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0f));
  // n + 127 is in [1, 254] after the clamp: a valid exponent.
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) float exp1(float x) {
  return _mm256_cvtss_f32(exp8(_mm256_set1_ps(x)));
}

__attribute__((target("avx2,fma"))) void softmax_avx2(float* x, int64_t n) {
  // The maximum over four independent vector chains (a scalar chain of maxss was a third of the
  // softmax of 1024 attention scores); the maximum of the same values whatever the order.
  float max = -std::numeric_limits<float>::infinity();
  int64_t m = 0;
  if (n >= 32) {
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    for (m = 32; m + 32 <= n; m += 32)
      for (int k = 0; k < 4; ++k) v[k] = _mm256_max_ps(v[k], _mm256_loadu_ps(x + m + 8 * k));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_max_ps(_mm256_max_ps(v[0], v[1]), _mm256_max_ps(v[2], v[3])));
    for (float l : lanes) max = std::max(max, l);
  }
  for (; m < n; ++m) max = std::max(max, x[m]);
  if (max == -std::numeric_limits<float>::infinity()) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0;
    return;
  }
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 vsum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vsum);
  double sum = 0;
  for (float l : lanes) sum += l;
  for (; i < n; ++i) sum += (x[i] = exp1(x[i] - max));
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  for (; i < n; ++i) x[i] *= static_cast<float>(1.0 / sum);
}

__attribute__((target("avx2,fma"))) void silu_mul_avx2(float* act, const float* gate, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(
        act + i, _mm256_mul_ps(_mm256_loadu_ps(act + i), _mm256_div_ps(g, _mm256_add_ps(one, e))));
  }
  for (; i < n; ++i) act[i] *= gate[i] / (1.0f + exp1(-gate[i]));
}

const bool kAvx2 = cpu_has_avx2_fma_f16c();
#endif

}  // namespace

void softmax_fast(float* x, int64_t n) {
#if defined(__x86_64__)
  if (kAvx2) return softmax_avx2(x, n);
#endif
  softmax(x, n);
}

void silu_mul(float* act, const float* gate, int64_t n) {
#if defined(__x86_64__)
  if (kAvx2) return silu_mul_avx2(act, gate, n);
#endif
  for (int64_t i = 0; i < n; ++i) act[i] *= silu(gate[i]);
}

}  // namespace rs::kernels
