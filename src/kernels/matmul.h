// Weight × activation products for the forward pass. A weight matrix is a GGUF tensor with
// ne = [n_in, n_out]: n_out rows of n_in values of any supported type (y = W·x, the PyTorch
// Linear layout).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace rs {
class ThreadPool;
}

namespace rs::kernels {
namespace gemm {
enum class Isa;  // gemm.h
}

struct WeightView {
  DType type = DType::F32;
  int64_t n_in = 0;   // values per row (ne[0])
  int64_t n_out = 0;  // rows (ne[1])
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;

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

// Copies row r of W, dequantized, into dst[n_in] (embedding lookup).
void get_row(const WeightView& w, int64_t r, float* dst);

}  // namespace rs::kernels
