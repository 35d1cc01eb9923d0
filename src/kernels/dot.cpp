// dot_row: reference dot products of one weight row with a float vector.
//
// Quantized rows are decoded one block at a time into a stack buffer (at most 256 floats, no heap)
// and dotted with the matching slice of x. Sums use 8 independent float lanes, which keeps the
// rounding error small (each lane sums n/8 products) and lets the compiler vectorise the loop
// without -ffast-math; block partial sums are then added in block order.
#include <cstddef>

#include "core/error.h"
#include "core/half.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

constexpr int kLanes = 8;

// sum a[i]*b[i] for i < n; n may be any count (plain types have block size 1).
float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += a[i + k] * b[i + k];
  for (int k = 0; k < kLanes && i < n; ++i, ++k) acc[k] += a[i] * b[i];  // tail, < 8 values
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// Half-precision rows: convert kChunk values at a time, then dot.
template <float (*kToF32)(uint16_t)>
float dot_half(const uint16_t* h, const float* x, int64_t n) {
  constexpr int64_t kChunk = 256;
  float buf[kChunk];
  float sum = 0.0f;
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = n - i < kChunk ? n - i : kChunk;
    for (int64_t j = 0; j < len; ++j) buf[j] = kToF32(h[i + j]);
    sum += dot_f32(buf, x + i, len);
  }
  return sum;
}

template <typename Block, int kValues>
float dot_blocks(const void* row, const float* x, int64_t n) {
  const auto* blocks = static_cast<const Block*>(row);
  const int64_t nb = n / kValues;
  float buf[kValues];
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    dequant_block(blocks[i], buf);
    sum += dot_f32(buf, x + i * kValues, kValues);
  }
  return sum;
}

}  // namespace

float dot_row(DType t, const void* row, const float* x, int64_t n) {
  const int64_t bs = values_per_block(t);
  RS_CHECK(bs > 0, "dot_row: tensor type {} is not supported", dtype_name(t));
  RS_CHECK(n >= 0 && n % bs == 0, "dot_row: {} values is not a whole number of {} blocks", n,
           dtype_name(t));
  switch (t) {
    case DType::F32:
      return dot_f32(static_cast<const float*>(row), x, n);
    case DType::F16:
      return dot_half<fp16_to_fp32>(static_cast<const uint16_t*>(row), x, n);
    case DType::BF16:
      return dot_half<bf16_to_fp32>(static_cast<const uint16_t*>(row), x, n);
    case DType::Q8_0:
      return dot_blocks<BlockQ8_0, kQK8_0>(row, x, n);
    case DType::Q4_0:
      return dot_blocks<BlockQ4_0, kQK4_0>(row, x, n);
    case DType::Q5_0:
      return dot_blocks<BlockQ5_0, kQK4_0>(row, x, n);
    case DType::Q4_K:
      return dot_blocks<BlockQ4_K, kQK_K>(row, x, n);
    case DType::Q6_K:
      return dot_blocks<BlockQ6_K, kQK_K>(row, x, n);
    default:
      fail("dot_row: tensor type {} is not supported", dtype_name(t));
  }
}

}  // namespace rs::kernels
