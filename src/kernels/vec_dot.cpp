// Activation quantizers and the portable reference kernels of vec_dot.h.
#include "kernels/vec_dot.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "kernels/cpu_features.h"
#include "kernels/gemm.h"

namespace rs::kernels {
namespace {

// One Q8_0 block: returns the fp16 scale amax/127, writes x·(127/amax) rounded half-to-even.
uint16_t quantize_block_q8_0(const float* x, int8_t* q) {
  float amax = 0;
  for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int j = 0; j < kQK8_0; ++j) q[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
  return fp32_to_fp16(amax / 127.0f);
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) y[b].d = quantize_block_q8_0(x + kQK8_0 * b, y[b].qs);
}

void quantize_q8_K(const float* x, BlockQ8K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float max = 0, amax = 0;
    for (int j = 0; j < kQK_K; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    if (amax == 0) {
      y[b].d = 0;
      std::memset(y[b].qs, 0, sizeof y[b].qs);
      std::memset(y[b].bsums, 0, sizeof y[b].bsums);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = static_cast<int>(std::nearbyint(iscale * x[j]));
      y[b].qs[j] = static_cast<int8_t>(std::min(127, v));
    }
    for (int k = 0; k < kQK_K / 16; ++k) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[b].qs[16 * k + j];
      y[b].bsums[k] = static_cast<int16_t>(s);
    }
    y[b].d = 1.0f / iscale;
  }
}

float ref_f32(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  float acc[8] = {};
  for (int64_t i = 0; i < n; ++i) acc[i & 7] += x[i] * y[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

template <float (*kToF32)(uint16_t)>
float ref_half(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  float acc[8] = {};
  for (int64_t i = 0; i < n; ++i) acc[i & 7] += kToF32(x[i]) * y[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float ref_q8_0(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    int s = 0;
    for (int j = 0; j < kQK8_0; ++j) s += x[b].qs[j] * y[b].qs[j];
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(s);
  }
  return sum;
}

float ref_q4_0(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    int s = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j)
      s += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j] + ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(s);
  }
  return sum;
}

float ref_q5_0(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    // Integer values q - 16 via the shared decoder with a unit scale.
    BlockQ5_0 unit = x[b];
    unit.d = fp32_to_fp16(1.0f);
    float v[kQK4_0];
    dequant_block(unit, v);
    int s = 0;
    for (int j = 0; j < kQK4_0; ++j) s += static_cast<int>(v[j]) * y[b].qs[j];
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(s);
  }
  return sum;
}

float ref_q4_K(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
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
    sum += y[b].d * (fp16_to_fp32(x[b].d) * static_cast<float>(sum_q) -
                     fp16_to_fp32(x[b].dmin) * static_cast<float>(sum_m));
  }
  return sum;
}

float ref_q6_K(const void* w, const void* a, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8K*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    float vals[kQK_K];
    // Decode q - 32 (the 1.0 scale keeps dequant_block's layout logic in one place).
    BlockQ6_K unit = x[b];
    unit.d = fp32_to_fp16(1.0f);
    std::memset(unit.scales, 1, sizeof unit.scales);
    dequant_block(unit, vals);
    int32_t s = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int32_t d = 0;
      for (int l = 0; l < 16; ++l)
        d += static_cast<int32_t>(vals[16 * sb + l]) * y[b].qs[16 * sb + l];
      s += x[b].scales[sb] * d;
    }
    sum += y[b].d * fp16_to_fp32(x[b].d) * static_cast<float>(s);
  }
  return sum;
}

bool detect_avx2() {
  return cpu_has_avx2_fma_f16c();
}

}  // namespace

bool simd_available() {
  static const bool ok = detect_avx2();
  return ok;
}

ActFormat act_format_for(DType t) {
  switch (t) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
      return ActFormat::Q8_0;
    case DType::Q4_K:
    case DType::Q6_K:
      return ActFormat::Q8_K;
    default:
      return ActFormat::F32;
  }
}

size_t act_row_bytes(ActFormat f, int64_t n) {
  switch (f) {
    case ActFormat::Q8_0:
      return static_cast<size_t>(n / kQK8_0) * sizeof(BlockQ8_0);
    case ActFormat::Q8_K:
      return static_cast<size_t>(n / kQK_K) * sizeof(BlockQ8K);
    case ActFormat::F32:
      break;
  }
  return static_cast<size_t>(n) * sizeof(float);
}

void quantize_act(ActFormat f, const float* x, void* dst, int64_t n) {
  switch (f) {
    case ActFormat::Q8_0:
      if (simd_available()) return avx2::quantize_act_q8_0(x, static_cast<BlockQ8_0*>(dst), n);
      return quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), n);
    case ActFormat::Q8_K:
      return quantize_q8_K(x, static_cast<BlockQ8K*>(dst), n);
    case ActFormat::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
  }
}

VecDotFn vec_dot_reference(DType t) {
  switch (t) {
    case DType::F32:
      return ref_f32;
    case DType::F16:
      return ref_half<fp16_to_fp32>;
    case DType::BF16:
      return ref_half<bf16_to_fp32>;
    case DType::Q8_0:
      return ref_q8_0;
    case DType::Q4_0:
      return ref_q4_0;
    case DType::Q5_0:
      return ref_q5_0;
    case DType::Q4_K:
      return ref_q4_K;
    case DType::Q6_K:
      return ref_q6_K;
    default:
      fail("no kernel for tensor type {}", dtype_name(t));
  }
}

void gemm::scalar::pack_q8_0(const float* x, int64_t n, int8_t* q, float* d, int64_t ld_d) {
  for (int64_t b = 0; b < n / kQK8_0; ++b)
    d[b * ld_d] = fp16_to_fp32(quantize_block_q8_0(x + kQK8_0 * b, q + kQK8_0 * b));
}

}  // namespace rs::kernels
