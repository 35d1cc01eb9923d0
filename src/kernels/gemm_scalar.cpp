// The portable kernels of gemm.h, for CPUs without AVX2: one (row, token) pair at a time with
// plain float operations (no tiling: this path exists for correctness on any CPU, not for speed).
// Each pair is computed the same way whatever the call, which is all batch invariance needs; the
// float steps follow the reference kernels of vec_dot.h rather than the SIMD recipe.
#include <cstring>

#include "core/half.h"
#include "kernels/gemm.h"

namespace rs::kernels::gemm::scalar {
namespace {

// Σ w·a over one 32-value block, exactly. Q4_0 / Q5_0 values are q − 8 / q − 16.
int block_dot(const BlockQ4_0& w, const int8_t* a) {
  int s = 0;
  for (int j = 0; j < 16; ++j) s += ((w.qs[j] & 0xF) - 8) * a[j] + ((w.qs[j] >> 4) - 8) * a[j + 16];
  return s;
}

int block_dot(const BlockQ5_0& w, const int8_t* a) {
  uint32_t qh;
  std::memcpy(&qh, w.qh, 4);
  int s = 0;
  for (int j = 0; j < 16; ++j) {
    const int lo = (w.qs[j] & 0xF) | static_cast<int>((qh >> j) & 1) << 4;
    const int hi = (w.qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1) << 4;
    s += (lo - 16) * a[j] + (hi - 16) * a[j + 16];
  }
  return s;
}

int block_dot(const BlockQ8_0& w, const int8_t* a) {
  int s = 0;
  for (int j = 0; j < 32; ++j) s += w.qs[j] * a[j];
  return s;
}

template <class Block>
float pair_q8(const WeightView& w, const Acts& a, int64_t r, int64_t t) {
  const auto* x = reinterpret_cast<const Block*>(w.row(r));
  const int8_t* q = a.q8 + t * a.n_in;
  float acc = 0;
  for (int64_t b = 0; b < w.n_in / 32; ++b)
    acc += fp16_to_fp32(x[b].d) * a.d[b * a.ld_d + t] *
           static_cast<float>(block_dot(x[b], q + 32 * b));
  return acc;
}

// The Q8_K and F32 activation rows are in the layout the reference kernels read, so those types
// use them as they are: any fixed per-pair computation is batch invariant.
template <DType kType>
float pair_reference(const WeightView& w, const Acts& a, int64_t r, int64_t t) {
  static const VecDotFn ref = vec_dot_reference(kType);
  const void* act = a.fmt == ActFormat::F32
                        ? static_cast<const void*>(a.x + t * a.n_in)
                        : static_cast<const void*>(a.q8k + t * (a.n_in / kQK_K));
  return ref(w.row(r), act, w.n_in);
}

template <float (*kPair)(const WeightView&, const Acts&, int64_t, int64_t)>
void run(const WeightView& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1,
         float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t t = t0; t < t1; ++t) y[t * ldy + r] = kPair(w, a, r, t);
}

}  // namespace

GemmFn gemm_for(DType t) {
  switch (t) {
    case DType::Q4_0:
      return run<pair_q8<BlockQ4_0>>;
    case DType::Q5_0:
      return run<pair_q8<BlockQ5_0>>;
    case DType::Q8_0:
      return run<pair_q8<BlockQ8_0>>;
    case DType::Q4_K:
      return run<pair_reference<DType::Q4_K>>;
    case DType::Q6_K:
      return run<pair_reference<DType::Q6_K>>;
    case DType::F32:
      return run<pair_reference<DType::F32>>;
    case DType::F16:
      return run<pair_reference<DType::F16>>;
    case DType::BF16:
      return run<pair_reference<DType::BF16>>;
    default:
      return nullptr;
  }
}

}  // namespace rs::kernels::gemm::scalar
