// matmul: quantizes the activations once per call, then runs the tile kernels of gemm.h over
// the rows of each thread and over cache-sized chunks of tokens. Also the run-time choice of
// the instruction set.
#include "kernels/matmul.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "kernels/repack.h"
#include "kernels/vec_dot.h"

namespace rs::kernels {
namespace gemm {
namespace {

bool detect(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  const bool avx2 = cpu_has_avx2_fma_f16c();
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return avx2;
    case Isa::Avx512:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::Scalar;
#endif
}

Isa choose_isa() {
  Isa best = detect(Isa::Avx512) ? Isa::Avx512 : detect(Isa::Avx2) ? Isa::Avx2 : Isa::Scalar;
  if (const char* env = std::getenv("RIGHTSIZE_ISA")) {
    const std::string want(env);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
      if (want == isa_name(isa) && isa_supported(isa) && isa <= best) best = isa;
  }
  return best;
}

}  // namespace

bool isa_supported(Isa isa) {
  static const bool ok[3] = {detect(Isa::Scalar), detect(Isa::Avx2), detect(Isa::Avx512)};
  return ok[static_cast<int>(isa)];
}

Isa active_isa() {
  static const Isa isa = choose_isa();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

GemmFn gemm_for(DType t, WeightLayout layout, Isa isa) {
  RS_CHECK(isa_supported(isa), "this CPU cannot run the {} kernels", isa_name(isa));
  switch (isa) {
    case Isa::Avx512:
      return avx512::gemm_for(t, layout);
    case Isa::Avx2:
      return avx2::gemm_for(t, layout);
    case Isa::Scalar:
      break;
  }
  return layout == WeightLayout::Rows ? scalar::gemm_for(t) : nullptr;
}

int row_tile(Isa isa) {
  // A group of the lane layout (repack.h): every SIMD lane tile decodes one at a time (AVX2 ones
  // as both 8-lane halves).
  return isa == Isa::Scalar ? 1 : 16;
}

uint8_t* thread_scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  const auto at = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - at % 64) % 64);
}

void pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d) {
  if (isa_supported(Isa::Avx2)) return avx2::pack_q8_0(x, n, q, d, ld_d);
  scalar::pack_q8_0(x, n, q, d, ld_d);
}

}  // namespace gemm

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool) {
  matmul(w, x, n_tokens, y, bias, pool, gemm::active_isa());
}

namespace {

// Quantizes x [n_tokens][n_in] once into the format the kernels of `type` take, into grow-only
// buffers of the calling thread (steady-state decoding allocates nothing). Returns the
// activations and the bytes one token's take.
std::pair<gemm::Acts, size_t> prepare_acts(DType type, int64_t n_in, const float* x,
                                           int64_t n_tokens, ThreadPool* pool) {
  gemm::Acts a;
  a.fmt = act_format_for(type);
  a.n_tokens = n_tokens;
  a.n_in = n_in;
  thread_local std::vector<int8_t> q8_buf;
  thread_local std::vector<float> d_buf;
  thread_local std::vector<int32_t> bsum_buf;
  thread_local std::vector<BlockQ8K> q8k_buf;
  std::function<void(int64_t, int64_t, int)> quantize;
  size_t act_bytes_per_token = static_cast<size_t>(n_in) * sizeof(float);
  switch (a.fmt) {
    case ActFormat::Q8_0: {
      const int64_t nb = n_in / kQK8_0;
      a.ld_d = n_tokens + 8;  // room for 8-wide loads of scales from any token
      if (q8_buf.size() < static_cast<size_t>(n_tokens * n_in))
        q8_buf.resize(static_cast<size_t>(n_tokens * n_in));
      if (d_buf.size() < static_cast<size_t>(nb * a.ld_d))
        d_buf.resize(static_cast<size_t>(nb * a.ld_d));
      if (bsum_buf.size() < static_cast<size_t>(nb * a.ld_d))
        bsum_buf.resize(static_cast<size_t>(nb * a.ld_d));
      int8_t* q = q8_buf.data();  // pointers, not the thread_locals: pool threads write here too
      float* d = d_buf.data();
      int32_t* bsum = bsum_buf.data();
      a.q8 = q;
      a.d = d;
      a.bsum = bsum;
      quantize = [&, q, d, bsum, nb](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t) {
          int8_t* qt = q + t * n_in;
          gemm::pack_q8_0(x + t * n_in, n_in, qt, d + t, a.ld_d);
          for (int64_t k = 0; k < nb; ++k) {  // block sums, for kernels that offset weights
            int32_t sum = 0;
            for (int i = 0; i < 32; ++i) sum += qt[32 * k + i];
            bsum[k * a.ld_d + t] = sum;
          }
        }
      };
      act_bytes_per_token = static_cast<size_t>(n_in) + static_cast<size_t>(nb) * sizeof(float);
      break;
    }
    case ActFormat::Q8_K: {
      const int64_t nb = n_in / kQK_K;
      if (q8k_buf.size() < static_cast<size_t>(n_tokens * nb))
        q8k_buf.resize(static_cast<size_t>(n_tokens * nb));
      BlockQ8K* q = q8k_buf.data();
      a.q8k = q;
      quantize = [&, q, nb](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t)
          quantize_act(ActFormat::Q8_K, x + t * n_in, q + t * nb, n_in);
      };
      act_bytes_per_token = static_cast<size_t>(nb) * sizeof(BlockQ8K);
      break;
    }
    case ActFormat::F32:
      a.x = x;
      break;
  }
  if (quantize) {
    if (pool && n_tokens >= 8)
      pool->parallel_for(n_tokens, quantize);
    else
      quantize(0, n_tokens, 0);
  }

  return {a, act_bytes_per_token};
}

// The kernel of w for isa; rs::Error when there is none or the rows are not whole blocks.
gemm::GemmFn kernel_for(const WeightView& w, gemm::Isa isa) {
  const gemm::GemmFn kernel = gemm::gemm_for(w.type, w.layout, isa);
  RS_CHECK(kernel, "no matmul kernel for tensor type {}{}", dtype_name(w.type),
           w.layout == WeightLayout::Rows ? "" : " in the lane layout with the scalar kernels");
  const int64_t bs = values_per_block(w.type);
  RS_CHECK(w.n_in % bs == 0, "matmul: {} values per row is not a whole number of {} blocks", w.n_in,
           dtype_name(w.type));
  return kernel;
}

}  // namespace

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool, gemm::Isa isa) {
  const MatmulOut one{&w, y, bias};
  matmul_multi({&one, 1}, x, n_tokens, pool, isa);
}

void matmul_multi(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool* pool) {
  matmul_multi(outs, x, n_tokens, pool, gemm::active_isa());
}

void matmul_multi(std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  ThreadPool* pool, gemm::Isa isa) {
  if (n_tokens <= 0 || outs.empty()) return;
  RS_CHECK(outs.size() <= kMaxMatmulOuts, "matmul_multi: at most {} matrices", kMaxMatmulOuts);
  const WeightView& w0 = *outs[0].w;
  std::array<gemm::GemmFn, kMaxMatmulOuts> kernels{};
  bool same_acts = true;
  for (size_t i = 0; i < outs.size(); ++i) {
    kernels[i] = kernel_for(*outs[i].w, isa);
    RS_CHECK(outs[i].w->n_in == w0.n_in, "matmul_multi: inputs of {} and {} values",
             outs[i].w->n_in, w0.n_in);
    same_acts = same_acts && act_format_for(outs[i].w->type) == act_format_for(w0.type);
  }
  // Matrices whose kernels take other activations than the first's run on their own.
  if (!same_acts) {
    for (const MatmulOut& o : outs) matmul_multi({&o, 1}, x, n_tokens, pool, isa);
    return;
  }
  // Not a structured binding: clang 14 rejects lambdas that capture one.
  const std::pair<gemm::Acts, size_t> prepared = prepare_acts(w0.type, w0.n_in, x, n_tokens, pool);
  const gemm::Acts& a = prepared.first;
  const size_t act_bytes_per_token = prepared.second;

  // One loop over the row tiles of every matrix, in order. Threads take contiguous runs of whole
  // row tiles. Each thread walks its rows once per chunk of tokens; a chunk's activations
  // (~192 KiB) stay in L2 while the rows stream past, and each tile of rows stays in L1 while it
  // meets every token of the chunk.
  const int64_t rt = gemm::row_tile(isa);
  std::array<int64_t, kMaxMatmulOuts + 1> first_tile{};
  int64_t total_rows = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    first_tile[i + 1] = first_tile[i] + (outs[i].w->n_out + rt - 1) / rt;
    total_rows += outs[i].w->n_out;
  }
  const int64_t n_tiles = first_tile[outs.size()];
  // The float kernels block rows instead (run_tiles_blocked: a tile of tokens in L1 meets an
  // L2-sized block of rows), so they take all the tokens at once: the lane layout's blocks are
  // unpacked once per call, not once per chunk.
  const int64_t chunk =
      a.fmt == ActFormat::F32
          ? n_tokens
          : std::max<int64_t>(16, static_cast<int64_t>((192 << 10) / act_bytes_per_token));
  auto work = [&](int64_t tile_begin, int64_t tile_end, int) {
    for (size_t i = 0; i < outs.size(); ++i) {
      const int64_t b = std::max(tile_begin, first_tile[i]),
                    e = std::min(tile_end, first_tile[i + 1]);
      if (b >= e) continue;
      const WeightView& w = *outs[i].w;
      const gemm::GemmFn kernel = kernels[i];
      float* y = outs[i].y;
      const float* bias = outs[i].bias;
      const int64_t r0 = (b - first_tile[i]) * rt, r1 = std::min(w.n_out, (e - first_tile[i]) * rt);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk)
        kernel(w, a, r0, r1, t0, std::min(n_tokens, t0 + chunk), y, w.n_out);
      if (bias)
        for (int64_t t = 0; t < n_tokens; ++t)
          for (int64_t r = r0; r < r1; ++r) y[t * w.n_out + r] += bias[r];
    }
  };
  // A few tokens: a memory-bound stream through the weights, split statically; more: compute-
  // bound tiles, taken in guided shares so that a descheduled thread holds up no one.
  const auto schedule = n_tokens < 4 ? ThreadPool::Schedule::Static : ThreadPool::Schedule::Guided;
  if (pool && pool->size() > 1 && total_rows >= 64)
    pool->parallel_for(n_tiles, work, schedule);
  else
    work(0, n_tiles, 0);
}

void get_row(const WeightView& w, int64_t r, float* dst) {
  if (w.layout == WeightLayout::Rows) return dequantize_row(w.type, w.row(r), dst, w.n_in);
  thread_local std::vector<uint8_t> row;
  row.resize(w.row_bytes);
  unpack_lane_row(w, r, row.data());
  dequantize_row(w.type, row.data(), dst, w.n_in);
}

}  // namespace rs::kernels
