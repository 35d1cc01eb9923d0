// The AVX-512 tile kernels of gemm.h: the same kernels as gemm_avx2.cpp, compiled with
// AVX-512 BW/VL/VNNI (src/CMakeLists.txt) so that the byte dots use vpdpbusd / vpdpwssd and the
// compiler has 32 vector registers for larger tiles. Vectors stay 256 bits wide, which keeps every
// result bit-identical to the AVX2 kernels (gemm.h). Called only after gemm::isa_supported.
#include <immintrin.h>

#include "kernels/gemm.h"

namespace rs::kernels::gemm::avx512 {
namespace {

#define RS_GEMM_VNNI 1
#include "kernels/gemm_tiles.inc"
#undef RS_GEMM_VNNI

}  // namespace

// Tile shapes for 32 vector registers (on Zen 5, 4x4 beat 4x6, 6x4 and 8x2). The Q4_0/Q8_0 lane
// tiles take 16 rows x 16 tokens: 16 accumulators + 8 weight groups fit the 32 registers, and
// each block's transpose serves twice the tokens of 16 x 8 (about 10% more batched throughput).
// Float weights: 4 rows x 6 tokens (F16 prompt matmul on one Emerald Rapids core 33-34 GMAC/s;
// 4x4 30, 6x4 27-29, 5x5 31-32, 3x8 31-34).
GemmFn gemm_for(DType t, WeightLayout layout) {
  return kernel_for<4, 4, 4, 2, 4, 6, 16>(t, layout);
}

}  // namespace rs::kernels::gemm::avx512
