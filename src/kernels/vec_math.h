// Vectorised exp-based element-wise kernels for the model's hot loops: the attention softmax
// and the gated FFN activation. AVX2+FMA (a function attribute; chosen at run time) computes
// exp with a degree-6 polynomial after range reduction (Cephes' expf, about 1 ulp, as ggml's
// vectorised expf), so results differ from std::exp in the last bits; the portable fallback
// uses std::exp. Each element's result depends only on its inputs (and, for softmax, its row),
// never on the batch: batch invariance holds.
#pragma once

#include <cstdint>

namespace rs::kernels {

// x[0..n) <- softmax(x); a row of -inf becomes all zero.
void softmax_fast(float* x, int64_t n);
// act[i] *= silu(gate[i]) = gate[i] / (1 + exp(-gate[i])).
void silu_mul(float* act, const float* gate, int64_t n);

}  // namespace rs::kernels
