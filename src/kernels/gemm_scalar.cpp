// The portable tile kernels of gemm.h, for CPUs without AVX2. One (row, token) pair at a time,
// following the per-pair recipe of gemm.h with plain float operations (no tiling: this path
// exists for correctness on any CPU, not for speed).
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

float pair_q4_K(const WeightView& w, const Acts& a, int64_t r, int64_t t) {
  const int64_t nb = w.n_in / kQK_K;
  const auto* x = reinterpret_cast<const BlockQ4_K*>(w.row(r));
  const BlockQ8K* y = a.q8k + t * nb;
  float acc_q = 0, acc_m = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sum_q = 0, sum_m = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      q4k_scale_min(s, x[b].scales, &sc, &m);
      const uint8_t* q = x[b].qs + 32 * (s / 2);
      int32_t d = 0;
      for (int l = 0; l < 32; ++l)
        d += ((s & 1) ? (q[l] >> 4) : (q[l] & 0xF)) * y[b].qs[32 * s + l];
      sum_q += sc * d;
      sum_m += m * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
    }
    acc_q += fp16_to_fp32(x[b].d) * y[b].d * static_cast<float>(sum_q);
    acc_m += fp16_to_fp32(x[b].dmin) * y[b].d * static_cast<float>(sum_m);
  }
  return acc_q - acc_m;
}

float pair_q6_K(const WeightView& w, const Acts& a, int64_t r, int64_t t) {
  const int64_t nb = w.n_in / kQK_K;
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w.row(r));
  const BlockQ8K* y = a.q8k + t * nb;
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t s = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = x[b].ql + 64 * half;
      const uint8_t* qh = x[b].qh + 32 * half;
      const int8_t* sc = x[b].scales + 8 * half;
      const int8_t* q8 = y[b].qs + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        s += sc[is] * q1 * q8[l] + sc[is + 2] * q2 * q8[l + 32] + sc[is + 4] * q3 * q8[l + 64] +
             sc[is + 6] * q4 * q8[l + 96];
      }
    }
    acc += fp16_to_fp32(x[b].d) * y[b].d * static_cast<float>(s);
  }
  return acc;
}

template <float (*kToF32)(uint16_t)>
float half_value(const uint8_t* row, int64_t i) {
  uint16_t h;
  std::memcpy(&h, row + 2 * i, 2);
  return kToF32(h);
}
float f32_value(const uint8_t* row, int64_t i) {
  float f;
  std::memcpy(&f, row + 4 * i, 4);
  return f;
}

template <float (*kValue)(const uint8_t*, int64_t)>
float pair_float(const WeightView& w, const Acts& a, int64_t r, int64_t t) {
  const uint8_t* row = w.row(r);
  const float* x = a.x + t * a.n_in;
  const int64_t n = a.n_in, n8 = n - n % 8;
  float l[8] = {};
  for (int64_t i = 0; i < n8; ++i) l[i % 8] += kValue(row, i) * x[i];
  float s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
  for (int64_t i = n8; i < n; ++i) s += kValue(row, i) * x[i];
  return s;
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
      return run<pair_q4_K>;
    case DType::Q6_K:
      return run<pair_q6_K>;
    case DType::F32:
      return run<pair_float<f32_value>>;
    case DType::F16:
      return run<pair_float<half_value<fp16_to_fp32>>>;
    case DType::BF16:
      return run<pair_float<half_value<bf16_to_fp32>>>;
    default:
      return nullptr;
  }
}

}  // namespace rs::kernels::gemm::scalar
