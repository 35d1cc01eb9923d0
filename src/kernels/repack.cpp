// pack_lanes and its inverse: byte moves between the file's block layout and the lane layout of
// repack.h.
#include "kernels/repack.h"

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/quant_blocks.h"

namespace rs::kernels {
namespace {

bool repack_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("RIGHTSIZE_REPACK");
    return !(env && std::string_view(env) == "0");
  }();
  return on;
}

// How a unit's bytes change on the way into the lane layout.
enum class Transform : uint8_t {
  None,
  Unsigned,   // Q8_0 quants: w + 128 (the sign bit flipped), the operand vpdpbusd takes unsigned
  FifthBits,  // Q5_0 qh: bit 8i + G is the fifth bit of value 4G + i (repack.h)
};

// A unit: `bytes` bytes at `file` in a block of the file's layout, which for row r of a group goes
// to region_base + b · region_stride + lane + bytes · r of the group (b: the block). A type's
// units cover each of its blocks' bytes exactly once.
struct Unit {
  uint16_t file, bytes;
  uint8_t region;  // 0: the blocks' quants (and all of a K-quant block); 1: the 32-value types'
                   // scales, after all blocks' quants
  uint16_t lane;
  Transform transform;
};

struct LaneFormat {
  size_t block_bytes = 0, values_per_block = 0;
  std::vector<Unit> units;
  // region_base(0) = 0; region 1 (32-value types) starts after the nb blocks' quants.
  size_t stride[2] = {0, 0};
};

LaneFormat make_format(DType t) {
  LaneFormat f;
  auto quads = [&](uint16_t first, int n, Transform tr, uint16_t lane0 = 0) {
    for (int k = 0; k < n; ++k)
      f.units.push_back(
          {static_cast<uint16_t>(first + 4 * k), 4, 0, static_cast<uint16_t>(lane0 + 64 * k), tr});
  };
  switch (t) {
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0: {
      f.block_bytes = t == DType::Q4_0   ? sizeof(BlockQ4_0)
                      : t == DType::Q5_0 ? sizeof(BlockQ5_0)
                                         : sizeof(BlockQ8_0);
      f.values_per_block = 32;
      f.units.push_back({0, 2, 1, 0, Transform::None});  // d
      if (t == DType::Q4_0) quads(2, 4, Transform::None);
      if (t == DType::Q8_0) quads(2, 8, Transform::Unsigned);
      if (t == DType::Q5_0) {
        quads(6, 4, Transform::None);
        f.units.push_back({2, 4, 0, 256, Transform::FifthBits});
      }
      f.stride[0] = kLaneRows * (f.block_bytes - 2);
      f.stride[1] = 2 * kLaneRows;
      break;
    }
    case DType::Q4_K:
      // Per super-block: 32 groups of nibble bytes, the 3 words of the six-bit scales, d, dmin.
      f.block_bytes = sizeof(BlockQ4_K);
      f.values_per_block = 256;
      quads(16, 32, Transform::None);
      quads(4, 3, Transform::None, 2048);
      f.units.push_back({0, 2, 0, 2240, Transform::None});
      f.units.push_back({2, 2, 0, 2272, Transform::None});
      f.stride[0] = kLaneRows * f.block_bytes;
      break;
    case DType::Q6_K:
      // Per super-block: 32 groups of ql, 16 of qh, 4 of the int8 scales, then d.
      f.block_bytes = sizeof(BlockQ6_K);
      f.values_per_block = 256;
      quads(0, 32, Transform::None);
      quads(128, 16, Transform::None, 2048);
      quads(192, 4, Transform::None, 3072);
      f.units.push_back({208, 2, 0, 3328, Transform::None});
      f.stride[0] = kLaneRows * f.block_bytes;
      break;
    default:
      break;
  }
  return f;
}

const LaneFormat& format(DType t) {
  static const LaneFormat q4_0 = make_format(DType::Q4_0), q5_0 = make_format(DType::Q5_0),
                          q8_0 = make_format(DType::Q8_0), q4_k = make_format(DType::Q4_K),
                          q6_k = make_format(DType::Q6_K), none;
  switch (t) {
    case DType::Q4_0:
      return q4_0;
    case DType::Q5_0:
      return q5_0;
    case DType::Q8_0:
      return q8_0;
    case DType::Q4_K:
      return q4_k;
    case DType::Q6_K:
      return q6_k;
    default:
      return none;
  }
}

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

void apply(Transform tr, bool inverse, const uint8_t* in, uint8_t* out, size_t bytes) {
  if (tr == Transform::FifthBits) {
    uint32_t v;
    std::memcpy(&v, in, 4);
    v = inverse ? fifth_bits_from_lanes(v) : fifth_bits_to_lanes(v);
    std::memcpy(out, &v, 4);
    return;
  }
  std::memcpy(out, in, bytes);
  if (tr == Transform::Unsigned)
    for (size_t i = 0; i < bytes; ++i) out[i] ^= 0x80;
}

// Offset of unit u of block b, row r, within a group of nb blocks.
size_t lane_offset(const LaneFormat& f, const Unit& u, size_t nb, size_t b, int r) {
  const size_t base = u.region == 0 ? 0 : nb * f.stride[0];
  return base + b * f.stride[u.region] + u.lane + u.bytes * static_cast<size_t>(r);
}

// The float types' lane layout (repack.h) is not a table of units: each half of a group, 8 rows,
// is column-major (value i of row r at element 8·i + r of the half), a transpose of elements.
// Bytes per element of the types that have it, else 0.
size_t float_lane_elem(DType t) {
  const bool is_float = t == DType::F32 || t == DType::F16 || t == DType::BF16;
  return is_float ? dtype_info(t).block_bytes : 0;
}

// Elements of kBytes bytes (a constant, so that each copy is one move).
template <size_t kBytes>
void pack_float_halves(const WeightView& w, uint8_t* dst) {
  const auto n = static_cast<size_t>(w.n_in);
  for (int64_t h = 0; h < w.n_out / kLaneRows * 2; ++h) {
    uint8_t* half = dst + static_cast<size_t>(8 * h) * w.row_bytes;
    for (int r = 0; r < 8; ++r) {
      const uint8_t* in = w.row(8 * h + r);
      uint8_t* out = half + kBytes * static_cast<size_t>(r);
      for (size_t i = 0; i < n; ++i) std::memcpy(out + 8 * kBytes * i, in + kBytes * i, kBytes);
    }
  }
}

}  // namespace

bool lane_packable(const WeightView& w) {
  if (!repack_enabled() || w.layout != WeightLayout::Rows || w.n_out < kLaneRows ||
      gemm::active_isa() == gemm::Isa::Scalar)
    return false;
  if (float_lane_elem(w.type) != 0) return w.n_in % 8 == 0;
  const LaneFormat& f = format(w.type);
  return !f.units.empty() && w.n_in % static_cast<int64_t>(f.values_per_block) == 0;
}

WeightView pack_lanes(const WeightView& w, uint8_t* dst) {
  const LaneFormat& f = format(w.type);
  const size_t es = float_lane_elem(w.type);
  RS_CHECK(w.layout == WeightLayout::Rows && (!f.units.empty() || (es && w.n_in % 8 == 0)),
           "pack_lanes: {} weights have no lane layout", dtype_name(w.type));
  const int64_t groups = w.n_out / kLaneRows;
  if (es == 2) {
    pack_float_halves<2>(w, dst);
  } else if (es == 4) {
    pack_float_halves<4>(w, dst);
  } else {
    const size_t nb = static_cast<size_t>(w.n_in) / f.values_per_block;
    for (int64_t g = 0; g < groups; ++g) {
      uint8_t* out = dst + static_cast<size_t>(g * kLaneRows) * w.row_bytes;
      for (size_t b = 0; b < nb; ++b)
        for (int r = 0; r < kLaneRows; ++r) {
          const uint8_t* in = w.row(g * kLaneRows + r) + b * f.block_bytes;
          for (const Unit& u : f.units)
            apply(u.transform, false, in + u.file, out + lane_offset(f, u, nb, b, r), u.bytes);
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
  if (const size_t es = float_lane_elem(w.type)) {
    const uint8_t* half = w.row(r - r % 8);
    const size_t lane = static_cast<size_t>(r % 8);
    for (size_t i = 0; i < static_cast<size_t>(w.n_in); ++i)
      std::memcpy(dst + es * i, half + es * (8 * i + lane), es);
    return;
  }
  const LaneFormat& f = format(w.type);
  const int lane = static_cast<int>(r % kLaneRows);
  const uint8_t* group = w.row(r - lane);
  const size_t nb = static_cast<size_t>(w.n_in) / f.values_per_block;
  for (size_t b = 0; b < nb; ++b) {
    uint8_t* out = dst + b * f.block_bytes;
    for (const Unit& u : f.units)
      apply(u.transform, true, group + lane_offset(f, u, nb, b, lane), out + u.file, u.bytes);
  }
}

}  // namespace rs::kernels
