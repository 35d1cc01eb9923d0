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

// Bytes of one block and of its quants (after the 2-byte scale).
size_t block_bytes(DType t) {
  return t == DType::Q4_0 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
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

// Q8_0 quants are stored as unsigned bytes w + 128 (the sign bit flipped), the operand vpdpbusd
// takes unsigned.
void flip(uint8_t* four) {
  for (int i = 0; i < 4; ++i) four[i] ^= 0x80;
}

}  // namespace

bool lane_packable(const WeightView& w) {
  return repack_enabled() && w.layout == WeightLayout::Rows &&
         (w.type == DType::Q4_0 || w.type == DType::Q8_0) && w.n_in % 32 == 0 &&
         w.n_out >= kLaneRows && gemm::active_isa() != gemm::Isa::Scalar;
}

WeightView pack_lanes(const WeightView& w, uint8_t* dst) {
  RS_CHECK(w.layout == WeightLayout::Rows && (w.type == DType::Q4_0 || w.type == DType::Q8_0),
           "pack_lanes: {} weights have no lane layout", dtype_name(w.type));
  const size_t bb = block_bytes(w.type), n_quads = (bb - 2) / 4;
  const bool biased = w.type == DType::Q8_0;
  const size_t nb = static_cast<size_t>(w.n_in / 32);
  const int64_t groups = w.n_out / kLaneRows;
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g * kLaneRows) * w.row_bytes;
    for (size_t b = 0; b < nb; ++b)
      for (int r = 0; r < kLaneRows; ++r) {
        const uint8_t* in = w.row(g * kLaneRows + r) + b * bb;
        std::memcpy(out + scale_at(nb, bb, b, r), in, 2);
        for (size_t k = 0; k < n_quads; ++k) {
          std::memcpy(out + quads_at(bb, b, k, r), in + 2 + 4 * k, 4);
          if (biased) flip(out + quads_at(bb, b, k, r));
        }
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
    for (size_t k = 0; k < n_quads; ++k) {
      std::memcpy(out + 2 + 4 * k, group + quads_at(bb, b, k, lane), 4);
      if (w.type == DType::Q8_0) flip(out + 2 + 4 * k);
    }
  }
}

}  // namespace rs::kernels
