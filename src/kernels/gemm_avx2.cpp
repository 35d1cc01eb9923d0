// The AVX2 + FMA + F16C tile kernels of gemm.h, and the AVX2 activation quantizer. This file is
// compiled with -mavx2 -mfma -mf16c (src/CMakeLists.txt) and only called after the CPU was
// checked (gemm::isa_supported).
//
// Why intrinsics and not Highway: the 8-bit dots hinge on vpmaddubsw / vpdpbusd (u8 × i8 ->
// i16 / i32), which the Highway release in Debian bookworm (1.0.3) does not expose; widening to
// i16 first would double the instructions of the hot loop.
#include <immintrin.h>

#include "kernels/gemm.h"

namespace rs::kernels::gemm::avx2 {
namespace {

#define RS_GEMM_VNNI 0
#include "kernels/gemm_tiles.inc"
#undef RS_GEMM_VNNI

// One Q8_0 block of activations: returns the fp16 scale amax/127 and writes x·(127/amax) rounded
// half-to-even to q[32] (the rounding of ggml's AVX2 quantize_row_q8_0).
uint16_t quant_block(const float* x, int8_t* q) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
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
  const __m256 mul = _mm256_set1_ps(max_scalar != 0.0f ? 127.0f / max_scalar : 0.0f);
  __m256i i32[4];
  for (int k = 0; k < 4; ++k)
    i32[k] = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(v[k], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  // Pack 32 int32 -> 32 int8; the packs interleave 128-bit lanes, the permute restores order.
  const __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]);
  const __m256i i16b = _mm256_packs_epi32(i32[2], i32[3]);
  const __m256i i8 = _mm256_packs_epi16(i16a, i16b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  return _cvtss_sh(max_scalar / 127.0f, 0);
}

}  // namespace

// Tile shapes for 16 vector registers (on Zen 5, 4x4 and 2x4 tiles were no faster than 4x2). Float
// weights: 3 rows x 4 tokens (12 accumulators, 3 weight vectors, 1 activation); F16 prompt matmul
// on one Emerald Rapids core 22 GMAC/s with 2x4, 27-30 with 3x4, 23-25 with 4x2, 2x6 or 4x3.
GemmFn gemm_for(DType t, WeightLayout layout) {
  return kernel_for<4, 2, 2, 2, 3, 4, 4>(t, layout);
}

void pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d) {
  for (int64_t b = 0; b < n / 32; ++b) d[b * ld_d] = h2f(quant_block(x + 32 * b, q + 32 * b));
}

}  // namespace rs::kernels::gemm::avx2

namespace rs::kernels::avx2 {

void quantize_act_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) y[b].d = gemm::avx2::quant_block(x + 32 * b, y[b].qs);
}

}  // namespace rs::kernels::avx2
