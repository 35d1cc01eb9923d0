// Block structs of the GGML quantized types rightsize computes with, byte-for-byte as they sit in
// a GGUF file (ggml-common.h), and the per-block decoders shared by dequantize_row and dot_row.
//
// Rows are read in place through pointer casts to these structs: every block size is even and
// GGUF tensor data is 32-byte aligned, so the fp16 members are always 2-byte aligned.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/half.h"

namespace rs::kernels {

inline constexpr int kQK8_0 = 32;  // values per Q8_0 block
inline constexpr int kQK4_0 = 32;  // values per Q4_0 block
inline constexpr int kQK_K = 256;  // values per K-quant super-block

// Q8_0, 34 bytes: x[j] = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_0, 18 bytes: byte j holds value j in its low nibble and value j+16 in its high nibble;
// x = d * (nibble - 8).
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q5_0, 22 bytes: value j (< 16) = low nibble of qs[j] | bit j of qh << 4, value j + 16 = high
// nibble of qs[j] | bit (j + 16) of qh << 4; x = d * (q - 16). (llama.cpp's Q4_K_M falls back to
// it for rows that are not a multiple of 256.)
struct BlockQ5_0 {
  uint16_t d;     // fp16 scale
  uint8_t qh[4];  // fifth bits, little-endian u32
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// Q4_K, 144 bytes: 8 sub-blocks of 32 values, x = d*sc[s]*q - dmin*m[s] with q in [0, 15].
//   scales[12]: 8 six-bit scales sc[s] and 8 six-bit mins m[s], packed as
//     s < 4: sc = scales[s] & 63,             m = scales[s+4] & 63
//     s >= 4: sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4,
//             m  = (scales[s+4] >> 4) | (scales[s]   >> 6) << 4
//   qs[128]: four 32-byte groups; group g holds sub-block 2g in its low nibbles and sub-block 2g+1
//     in its high nibbles (value 64g + l is qs[32g + l] & 15, value 64g + 32 + l is >> 4).
struct BlockQ4_K {
  uint16_t d;     // fp16 super-block scale of the six-bit scales
  uint16_t dmin;  // fp16 super-block scale of the six-bit mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q6_K, 210 bytes: 16 sub-blocks of 16 values, x = d * scales[s] * (q - 32), q in [0, 63].
//   The 256 values are two halves of 128 (ql advances by 64 bytes, qh by 32 per half). Within a
//   half, for l in [0, 32):
//     value l      : low 4 bits = ql[l]      & 15, high 2 bits = (qh[l] >> 0) & 3
//     value l + 32 : low 4 bits = ql[l + 32] & 15, high 2 bits = (qh[l] >> 2) & 3
//     value l + 64 : low 4 bits = ql[l]      >> 4, high 2 bits = (qh[l] >> 4) & 3
//     value l + 96 : low 4 bits = ql[l + 32] >> 4, high 2 bits = (qh[l] >> 6) & 3
//   Sub-block s covers values 16s .. 16s+15 (so scales[] is in value order).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210);

// Values per block of a type the kernels accept, 0 for any other type. A switch rather than
// dtype_info() so that the per-row checks in the hot paths cost nothing.
inline int64_t values_per_block(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
      return 1;
    case DType::Q8_0:
      return kQK8_0;
    case DType::Q4_0:
    case DType::Q5_0:
      return kQK4_0;
    case DType::Q4_K:
    case DType::Q6_K:
      return kQK_K;
    default:
      return 0;
  }
}

// Six-bit scale and min of sub-block s (0..7) of a Q4_K block (layout above).
inline void q4k_scale_min(int s, const uint8_t* scales, uint8_t* sc, uint8_t* m) {
  if (s < 4) {
    *sc = scales[s] & 63;
    *m = scales[s + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((scales[s + 4] & 0xF) | ((scales[s - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((scales[s + 4] >> 4) | ((scales[s] >> 6) << 4));
  }
}

// The per-block decoders below compute every value with the same float operations, in the same
// order, as ggml's dequantize_row_*, so results are bit-identical to ggml's scalar decoder as long
// as neither side fuses d*q - m into an FMA (possible when built for an FMA-capable target).

inline void dequant_block(const BlockQ8_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < kQK8_0; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
}

inline void dequant_block(const BlockQ4_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    y[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
    y[j + kQK4_0 / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
  }
}

inline void dequant_block(const BlockQ5_0& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const uint32_t qh = static_cast<uint32_t>(b.qh[0]) | static_cast<uint32_t>(b.qh[1]) << 8 |
                      static_cast<uint32_t>(b.qh[2]) << 16 | static_cast<uint32_t>(b.qh[3]) << 24;
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    const int hi0 = static_cast<int>((qh >> j) << 4 & 0x10);
    const int hi1 = static_cast<int>((qh >> (j + 12)) & 0x10);
    y[j] = static_cast<float>(((b.qs[j] & 0x0F) | hi0) - 16) * d;
    y[j + kQK4_0 / 2] = static_cast<float>(((b.qs[j] >> 4) | hi1) - 16) * d;
  }
}

inline void dequant_block(const BlockQ4_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const float dmin = fp16_to_fp32(b.dmin);
  const uint8_t* q = b.qs;
  for (int g = 0; g < 4; ++g) {  // 64 values per group: two sub-blocks
    uint8_t sc, m;
    q4k_scale_min(2 * g, b.scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    q4k_scale_min(2 * g + 1, b.scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) y[32 + l] = d2 * static_cast<float>(q[l] >> 4) - m2;
    y += 64;
    q += 32;
  }
}

inline void dequant_block(const BlockQ6_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  const int8_t* sc = b.scales;
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace rs::kernels
