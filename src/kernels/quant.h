// Row-level kernels for every weight type rightsize computes with: F32, F16, BF16, Q8_0, Q4_0,
// Q4_K, Q6_K, with the exact GGUF block layouts (see core/dtype.h for block sizes).
//
// These are the reference (scalar, correctness-first) paths; SIMD versions must give the same
// results within float rounding. `n` is always a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace rs::kernels {

// dst[0..n) = values of the row `src` of type t.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);

// sum_i row[i] * x[i] over n values, row of type t, accumulated in float.
float dot_row(DType t, const void* row, const float* x, int64_t n);

// Quantizes n floats into the block layout of t (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K), with
// the same rounding as llama.cpp's reference quantizers (no importance matrix).
void quantize_row(DType t, const float* src, void* dst, int64_t n);

// Whether the three functions above accept t.
bool is_supported(DType t);

}  // namespace rs::kernels
