#include "kernels/matmul.h"

#include <vector>

#include "core/thread_pool.h"
#include "kernels/quant.h"

namespace rs::kernels {

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool) {
  auto work = [&](int64_t begin, int64_t end, int) {
    if (n_tokens == 1 || w.type == DType::F32) {
      for (int64_t o = begin; o < end; ++o)
        for (int64_t t = 0; t < n_tokens; ++t) {
          const float v = dot_row(w.type, w.row(o), x + t * w.n_in, w.n_in);
          y[t * w.n_out + o] = v + (bias ? bias[o] : 0.0f);
        }
      return;
    }
    // Several tokens and a packed type: dequantize each row once and reuse it for every token.
    thread_local std::vector<float> buf;
    buf.resize(static_cast<size_t>(w.n_in));
    for (int64_t o = begin; o < end; ++o) {
      dequantize_row(w.type, w.row(o), buf.data(), w.n_in);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float v = dot_row(DType::F32, buf.data(), x + t * w.n_in, w.n_in);
        y[t * w.n_out + o] = v + (bias ? bias[o] : 0.0f);
      }
    }
  };
  if (pool && w.n_out >= 64) pool->parallel_for(w.n_out, work);
  else work(0, w.n_out, 0);
}

void get_row(const WeightView& w, int64_t r, float* dst) { dequantize_row(w.type, w.row(r), dst, w.n_in); }

}  // namespace rs::kernels
