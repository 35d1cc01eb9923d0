// Weight × activation products for the forward pass. A weight matrix is a GGUF tensor with
// ne = [n_in, n_out]: n_out rows of n_in values of any supported type (y = W·x, the PyTorch
// Linear layout).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace rs {
class ThreadPool;
}

namespace rs::kernels {
namespace gemm {
enum class Isa;  // gemm.h
}

// How a matrix's bytes are laid out: the file's rows of blocks, or (Q4_0, Q5_0, Q8_0, Q4_K, Q6_K,
// F32, F16, BF16) the lane layout that kernels::pack_lanes writes (repack.h).
enum class WeightLayout { Rows, Lanes16 };

struct WeightView {
  DType type = DType::F32;
  int64_t n_in = 0;   // values per row (ne[0])
  int64_t n_out = 0;  // rows (ne[1])
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;
  WeightLayout layout = WeightLayout::Rows;

  // Row r in the file's layout (Lanes16: only the rows after the last whole group of 16; the
  // rows of group g share the bytes row(16g) .. row(16g + 16)).
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
  explicit operator bool() const { return data != nullptr; }
};

// Y[t][o] = sum_i W[o][i] · X[t][i] (+ bias[o] when bias is non-null), for t < n_tokens.
// X is [n_tokens][n_in], Y is [n_tokens][n_out], both row-major. Rows of W are split across the
// pool's threads, and tiles of rows × tokens share loads (gemm.h).
//
// Batch invariant: Y[t][o] is bit-identical whatever n_tokens is, whichever other tokens are in
// the call and whatever the thread count (continuous batching relies on it).
void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool);
// The same with the kernels of a given instruction set, which the CPU must support (tests and
// benchmarks compare them; matmul above uses gemm::active_isa()).
void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool, gemm::Isa isa);

// Several products of the same input: outs[i].y = outs[i].w · X (+ bias), X [n_tokens][n_in]
// shared (attention's Q, K and V; the FFN's gate and up). The activations are quantized once and
// one parallel loop runs over all the matrices' row tiles, so the call costs one quantization
// and one wait for the threads instead of one per matrix. Results are bit-identical to separate
// matmul calls. At most kMaxMatmulOuts matrices, all with n_in inputs.
struct MatmulOut {
  const WeightView* w = nullptr;
  float* y = nullptr;           // [n_tokens][w->n_out]
  const float* bias = nullptr;  // [w->n_out] or null
};
inline constexpr size_t kMaxMatmulOuts = 4;
void matmul_multi(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool* pool);
void matmul_multi(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool* pool, gemm::Isa isa);

// Copies row r of W, dequantized, into dst[n_in] (embedding lookup).
void get_row(const WeightView& w, int64_t r, float* dst);

}  // namespace rs::kernels
