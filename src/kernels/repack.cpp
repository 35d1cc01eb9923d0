// pack_lanes and its inverse: byte moves between the file's block layout and the lane layout of
// repack.h.
#include "kernels/repack.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

size_t block_bytes(DType t) {
  switch (t) {
    case DType::Q4_0:
      return sizeof(BlockQ4_0);
    case DType::Q5_0:
      return sizeof(BlockQ5_0);
    default:
      return sizeof(BlockQ8_0);
  }
}

// Q5_0's fifth bits in the order the lane tile wants them: bit 8i + G of the word is the fifth
// bit of value 4G + i (qh bit 4G + i), so group G of the tile's values (bytes i = 0..3) finds
// its bits at bit G of each byte, one shift away from bit 4.
uint32_t fifth_bits_to_lanes(uint32_t qh) {
  uint32_t out = 0;
  for (int g = 0; g < 8; ++g)
    for (int i = 0; i < 4; ++i) out |= (qh >> (4 * g + i) & 1u) << (8 * i + g);
  return out;
}
uint32_t fifth_bits_from_lanes(uint32_t h) {
  uint32_t out = 0;
  for (int g = 0; g < 8; ++g)
    for (int i = 0; i < 4; ++i) out |= (h >> (8 * i + g) & 1u) << (4 * g + i);
  return out;
}

// Group k (4 bytes) of a block in the lane layout, from the block in the file's layout, and
// back. Q4_0 and Q8_0: the quant bytes 4k..4k+3 (Q8_0 as w + 128, the unsigned operand
// vpdpbusd takes); Q5_0: k < 4 the nibble bytes, k = 4 the fifth bits as above.
void quad_to_lanes(DType t, const uint8_t* block, size_t k, uint8_t* four) {
  if (t == DType::Q5_0 && k == 4) {
    uint32_t qh;
    std::memcpy(&qh, block + 2, 4);
    const uint32_t h = fifth_bits_to_lanes(qh);
    std::memcpy(four, &h, 4);
    return;
  }
  std::memcpy(four, block + (t == DType::Q5_0 ? 6 : 2) + 4 * k, 4);
  if (t == DType::Q8_0)
    for (int i = 0; i < 4; ++i) four[i] ^= 0x80;
}
void quad_from_lanes(DType t, const uint8_t* four, size_t k, uint8_t* block) {
  if (t == DType::Q5_0 && k == 4) {
    uint32_t h;
    std::memcpy(&h, four, 4);
    const uint32_t qh = fifth_bits_from_lanes(h);
    std::memcpy(block + 2, &qh, 4);
    return;
  }
  uint8_t* dst = block + (t == DType::Q5_0 ? 6 : 2) + 4 * k;
  std::memcpy(dst, four, 4);
  if (t == DType::Q8_0)
    for (int i = 0; i < 4; ++i) dst[i] ^= 0x80;
}

bool has_lane_layout(DType t) {
  return t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q8_0;
}

bool repack_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("RIGHTSIZE_REPACK");
    return !(env && std::string_view(env) == "0");
  }();
  return on;
}

// The offsets, within a group of nb blocks of bb bytes, of block b's row r scale and of its
// bytes 4k..4k+3.
size_t scale_at(size_t nb, size_t bb, size_t b, int r) {
  return nb * kLaneRows * (bb - 2) + 2 * (kLaneRows * b + static_cast<size_t>(r));
}
size_t quads_at(size_t bb, size_t b, size_t k, int r) {
  return kLaneRows * (bb - 2) * b + 64 * k + 4 * static_cast<size_t>(r);
}

}  // namespace

bool lane_packable(const WeightView& w) {
  return repack_enabled() && w.layout == WeightLayout::Rows && has_lane_layout(w.type) &&
         w.n_in % 32 == 0 && w.n_out >= kLaneRows && gemm::active_isa() != gemm::Isa::Scalar;
}

WeightView pack_lanes(const WeightView& w, uint8_t* dst) {
  RS_CHECK(w.layout == WeightLayout::Rows && has_lane_layout(w.type),
           "pack_lanes: {} weights have no lane layout", dtype_name(w.type));
  const size_t bb = block_bytes(w.type), n_quads = (bb - 2) / 4;
  const size_t nb = static_cast<size_t>(w.n_in / 32);
  const int64_t groups = w.n_out / kLaneRows;
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g * kLaneRows) * w.row_bytes;
    for (size_t b = 0; b < nb; ++b)
      for (int r = 0; r < kLaneRows; ++r) {
        const uint8_t* in = w.row(g * kLaneRows + r) + b * bb;
        std::memcpy(out + scale_at(nb, bb, b, r), in, 2);
        for (size_t k = 0; k < n_quads; ++k)
          quad_to_lanes(w.type, in, k, out + quads_at(bb, b, k, r));
      }
  }
  const size_t grouped = static_cast<size_t>(groups * kLaneRows) * w.row_bytes;
  const size_t total = static_cast<size_t>(w.n_out) * w.row_bytes;
  std::memcpy(dst + grouped, w.data + grouped, total - grouped);  // the tail rows, as they are
  WeightView packed = w;
  packed.data = dst;
  packed.layout = WeightLayout::Lanes16;
  return packed;
}

void unpack_lane_row(const WeightView& w, int64_t r, uint8_t* dst) {
  const int64_t groups = w.n_out / kLaneRows;
  if (w.layout != WeightLayout::Lanes16 || r >= groups * kLaneRows) {
    std::memcpy(dst, w.row(r), w.row_bytes);
    return;
  }
  const size_t bb = block_bytes(w.type), n_quads = (bb - 2) / 4;
  const int lane = static_cast<int>(r % kLaneRows);
  const uint8_t* group = w.row(r - lane);
  const size_t nb = static_cast<size_t>(w.n_in / 32);
  for (size_t b = 0; b < nb; ++b) {
    uint8_t* out = dst + b * bb;
    std::memcpy(out, group + scale_at(nb, bb, b, lane), 2);
    for (size_t k = 0; k < n_quads; ++k)
      quad_from_lanes(w.type, group + quads_at(bb, b, k, lane), k, out);
  }
}

}  // namespace rs::kernels
