// Activation formats of the weight × activation products: activations are quantized once per row
// of tokens into the 8-bit format that pairs with the weight type (as llama.cpp does), and the
// integer kernels of gemm.h multiply them with the weights. The reference dot kernels here are
// the independent, unoptimised definition the tests hold those kernels to.
//
//   weights           activations   kernel
//   Q4_0, Q8_0        Q8_0          Σ_b d_w·d_a·Σ_j w_j·a_j              (32 values per block)
//   Q4_K, Q6_K        Q8_K          per 256-block, 6/8-bit sub-block scales, mins via bsums
//   F32, F16, BF16    F32           plain float dot
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {

// Q8_K activation block, 292 bytes: x = d * qs[j]; bsums[k] = Σ qs[16k .. 16k+15].
struct BlockQ8K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8K) == 292);

enum class ActFormat { F32, Q8_0, Q8_K };

ActFormat act_format_for(DType weight_type);
// Bytes of one quantized activation row of n values.
size_t act_row_bytes(ActFormat f, int64_t n);
// x[n] -> dst in format f. Q8_0 matches ggml's AVX2 quantize_row_q8_0 (scale amax/127 stored as
// fp16, values rounded half-to-even); Q8_K matches quantize_row_q8_K (scale −max/127 by signed
// max).
void quantize_act(ActFormat f, const float* x, void* dst, int64_t n);

// Dot of one weight row (type t, n values) with one activation row in act_format_for(t), as
// ggml's scalar reference kernels compute it; the portable definition the tests check against.
using VecDotFn = float (*)(const void* w_row, const void* act, int64_t n);
VecDotFn vec_dot_reference(DType t);

// True when the CPU has AVX2+FMA+F16C (the AVX2 activation quantizer and kernels run).
bool simd_available();

namespace avx2 {
// Defined in gemm_avx2.cpp (compiled for AVX2+FMA+F16C); call only when simd_available().
void quantize_act_q8_0(const float* x, BlockQ8_0* y, int64_t n);
}  // namespace avx2

}  // namespace rs::kernels
