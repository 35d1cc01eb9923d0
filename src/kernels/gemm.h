// Tiled weight × activation kernels behind kernels::matmul (internal to src/kernels).
//
// A kernel computes a rectangle of outputs: rows [r0, r1) of the weight matrix × tokens [t0, t1)
// of the activations, in register tiles of R rows × T tokens, so that every weight block loaded
// is used for T tokens and every activation block for R rows.
//
// Batch invariance. Every (row, token) pair is computed with exactly the same float operations
// in the same order whatever tile it falls in, whatever the other tokens of the call are, and
// whatever the thread count: the tile shape only decides which pairs share registers. Per pair:
//
//   Q4_0, Q5_0, Q8_0 (Q8_0 activations), for each 32-value block b in order:
//     isum = Σ w·a exactly in integers;  acc = fma(d_w·d_a, (float)isum, acc)
//   Q6_K (Q8_K activations), for each 256-value block:
//     isum = Σ_s scale_s·Σ (q−32)·a;     acc = fma(d_w·d_a, (float)isum, acc)
//   Q4_K, for each 256-value block:
//     acc_q = fma(d_w·d_a, (float)Σ_s sc_s·Σ q·a, acc_q);  acc_m = fma(dmin_w·d_a, (float)Σ_s
//     m_s·Σa, acc_m);  result = acc_q − acc_m
//   F32, F16, BF16 (F32 activations): eight lane sums over i ≡ lane (mod 8) by fma, then the fixed
//     tree ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), then the n mod 8 tail by fma in order. (In the
//     lane layout, lane sum k is a register of 8 rows' sums; same operations, same order.)
//
// The integer sums are exact, so how a SIMD kernel splits them (vpmaddubsw, vpdpbusd, any
// reduction order) cannot change a result. The AVX2 and AVX-512 kernels therefore agree bit for
// bit; the scalar fallback follows the same recipe with its own float ops (it may differ in the
// last bit: only one ISA runs in a process).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/matmul.h"
#include "kernels/quant_blocks.h"
#include "kernels/vec_dot.h"

namespace rs::kernels::gemm {

// The activations of one matmul call, quantized to act_format_for(weight type).
//   Q8_0: q8 holds n_tokens rows of n_in int8 values (row t at q8 + t * n_in; 32-value blocks
//         back to back, no interleaved scales); d holds the block scales transposed, d[b * ld_d +
//         t] (the fp16 scale widened to float), with ld_d >= n_tokens + 8 so a kernel may load 8
//         consecutive scales from any t; bsum[b * ld_d + t] is the block's sum of int8 values.
//   Q8_K: q8k holds n_tokens rows of n_in / 256 BlockQ8K (row t at q8k + t * (n_in / 256)).
//   F32:  x holds n_tokens rows of n_in floats.
struct Acts {
  ActFormat fmt = ActFormat::F32;
  int64_t n_tokens = 0, n_in = 0;
  const int8_t* q8 = nullptr;
  const float* d = nullptr;
  const int32_t* bsum = nullptr;
  int64_t ld_d = 0;
  const BlockQ8K* q8k = nullptr;
  const float* x = nullptr;
};

// y[t * ldy + r] = Σ_i W[r][i]·X[t][i] for r in [r0, r1), t in [t0, t1) (no bias).
using GemmFn = void (*)(const WeightView& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0,
                        int64_t t1, float* y, int64_t ldy);

enum class Isa { Scalar, Avx2, Avx512 };

// The best instruction set this CPU runs, unless the environment variable RIGHTSIZE_ISA
// (scalar, avx2, avx512) asks for a lower one (to compare kernels on one machine).
Isa active_isa();
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

// The kernel of a weight type and layout for an instruction set the CPU supports; nullptr for
// other types (and for the lane layout of repack.h with the scalar kernels, which do not read it).
GemmFn gemm_for(DType t, WeightLayout layout, Isa isa);

// Rows per register tile of the kernels of `isa` (matmul splits rows between threads in
// multiples of it so that no thread ends with a partial tile it could have avoided).
int row_tile(Isa isa);

// Quantizes one token row into the Q8_0 layout of Acts: values to q[n], scales to d[b * ld_d].
// Same values as quantize_act(ActFormat::Q8_0) (amax/127 rounded to fp16, half-to-even).
void pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d);

// A buffer of at least `bytes` bytes, 64-byte aligned, private to the calling thread and valid
// until its next call (kernels that rearrange a block of weights; grow-only, so steady-state
// calls allocate nothing).
uint8_t* thread_scratch(size_t bytes);

namespace scalar {
GemmFn gemm_for(DType t);
void pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d);
}  // namespace scalar
namespace avx2 {
GemmFn gemm_for(DType t, WeightLayout layout);
void pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d);
}  // namespace avx2
namespace avx512 {
GemmFn gemm_for(DType t, WeightLayout layout);
}  // namespace avx512

}  // namespace rs::kernels::gemm
