#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/quant.h"
#include "kernels/vec_dot.h"

namespace rs::kernels {

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool) {
  const ActFormat fmt = act_format_for(w.type);
  const VecDotFn dot = vec_dot_for(w.type);
  const size_t act_bytes = act_row_bytes(fmt, w.n_in);

  // Activations are quantized once per call (not once per weight row). The buffer belongs to the
  // calling thread and only grows, so steady-state decoding allocates nothing.
  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  if (fmt != ActFormat::F32) {
    thread_local std::vector<uint8_t> buf;
    if (buf.size() < act_bytes * static_cast<size_t>(n_tokens)) buf.resize(act_bytes * static_cast<size_t>(n_tokens));
    uint8_t* dst = buf.data();  // a pointer, not the thread_local: pool threads write here too
    auto quantize = [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) quantize_act(fmt, x + t * w.n_in, dst + t * act_bytes, w.n_in);
    };
    if (pool && n_tokens >= 8) pool->parallel_for(n_tokens, quantize);
    else quantize(0, n_tokens, 0);
    act = buf.data();
  }

  // Tokens are taken in chunks so the chunk's activations stay in cache while every weight row
  // of the thread's share is dotted with them; each weight row is read once per chunk.
  constexpr int64_t kTokenChunk = 128;
  auto work = [&](int64_t begin, int64_t end, int) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
      const int64_t t1 = std::min(n_tokens, t0 + kTokenChunk);
      for (int64_t o = begin; o < end; ++o) {
        const uint8_t* row = w.row(o);
        const float b = bias ? bias[o] : 0.0f;
        for (int64_t t = t0; t < t1; ++t) y[t * w.n_out + o] = dot(row, act + t * act_bytes, w.n_in) + b;
      }
    }
  };
  if (pool && pool->size() > 1 && w.n_out >= 64) pool->parallel_for(w.n_out, work);
  else work(0, w.n_out, 0);
}

void get_row(const WeightView& w, int64_t r, float* dst) { dequantize_row(w.type, w.row(r), dst, w.n_in); }

}  // namespace rs::kernels
