// dequantize_row and is_supported: the type dispatch over the per-block decoders of
// quant_blocks.h, plus the plain float types.
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

template <typename Block, int kValues>
void dequant_blocks(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const Block*>(src);
  const int64_t nb = n / kValues;
  for (int64_t i = 0; i < nb; ++i) dequant_block(blocks[i], dst + i * kValues);
}

}  // namespace

bool is_supported(DType t) {
  return values_per_block(t) > 0;
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const int64_t bs = values_per_block(t);
  RS_CHECK(bs > 0, "dequantize_row: tensor type {} is not supported", dtype_name(t));
  RS_CHECK(n >= 0 && n % bs == 0, "dequantize_row: {} values is not a whole number of {} blocks", n,
           dtype_name(t));
  switch (t) {
    case DType::F32:
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
      return;
    }
    case DType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
      return;
    }
    case DType::Q8_0:
      return dequant_blocks<BlockQ8_0, kQK8_0>(src, dst, n);
    case DType::Q4_0:
      return dequant_blocks<BlockQ4_0, kQK4_0>(src, dst, n);
    case DType::Q5_0:
      return dequant_blocks<BlockQ5_0, kQK4_0>(src, dst, n);
    case DType::Q4_K:
      return dequant_blocks<BlockQ4_K, kQK_K>(src, dst, n);
    case DType::Q6_K:
      return dequant_blocks<BlockQ6_K, kQK_K>(src, dst, n);
    default:
      fail("dequantize_row: tensor type {} is not supported", dtype_name(t));
  }
}

}  // namespace rs::kernels
