// The AVX-512 tile kernels of gemm.h: the same kernels as gemm_avx2.cpp, compiled with
// AVX-512 BW/VL/VNNI (src/CMakeLists.txt) so that the byte dots use vpdpbusd / vpdpwssd and the
// compiler has 32 vector registers for larger tiles. Vectors stay 256 bits wide, which keeps every
// result bit-identical to the AVX2 kernels (gemm.h). Called only after gemm::isa_supported.
#include <immintrin.h>

#include "kernels/gemm.h"

namespace rs::kernels::gemm::avx512 {
namespace {

#define RS_GEMM_VNNI 1
// gemm_simd.inc first: the kernels use its helpers.
// clang-format off
#include "kernels/gemm_simd.inc"
#include "kernels/gemm_q8_0.inc"
#include "kernels/gemm_kquant.inc"
#include "kernels/gemm_float.inc"
// clang-format on
#undef RS_GEMM_VNNI

// Tile shapes (rows × tokens) for 32 vector registers; decoding uses 8 rows × 1 token.
constexpr int kRows = 4, kTokens = 4, kDecodeRows = 8;

}  // namespace

GemmFn gemm_for(DType t) {
  switch (t) {
    case DType::Q4_0:
      return run_tiles<Q8Tile<Q4_0Rows>, kRows, kTokens, kDecodeRows>;
    case DType::Q5_0:
      return run_tiles<Q8Tile<Q5_0Rows>, kRows, kTokens, kDecodeRows>;
    case DType::Q8_0:
      return run_tiles<Q8Tile<Q8_0Rows>, kRows, kTokens, kDecodeRows>;
    case DType::Q4_K:
      return run_tiles<Q4KTile, 4, 2, kDecodeRows>;
    case DType::Q6_K:
      return run_tiles<Q6KTile, 4, 2, kDecodeRows>;
    case DType::F32:
      return run_tiles<FloatTile<F32Rows>, 4, 4, kDecodeRows>;
    case DType::F16:
      return run_tiles<FloatTile<F16Rows>, 4, 4, kDecodeRows>;
    case DType::BF16:
      return run_tiles<FloatTile<BF16Rows>, 4, 4, kDecodeRows>;
    default:
      return nullptr;
  }
}

}  // namespace rs::kernels::gemm::avx512
