// Weights repacked at load into the layout the lane tiles read (gemm_q8_0.inc), as llama.cpp
// repacks Q4_0 into its 8x8 interleaved blocks. In the file's layout a tile of rows has to be
// transposed for every block it reads, and every block's fp16 scale fetched on its own; for a
// single token (decoding) that arithmetic, not memory, was the limit. Repacked, a block of 16 rows
// is a handful of vector loads. Float matrices are repacked for the read pattern alone: a
// decode tile of the file's layout walks 8 row streams at once, which the hardware prefetchers
// follow poorly (SmolLM2 F16 tg128, 2 threads: 69 -> 77 tokens/s).
//
// The lane layout of a Q4_0, Q5_0 or Q8_0 matrix (n_out rows of nb = n_in / 32 blocks, row_bytes
// each):
//   rows in groups of 16; group g takes the bytes of its own rows, [16g, 16g + 16) · row_bytes,
//   so a view's size and its row tiles' offsets do not change. Group g holds
//     first, for each block b: the 16 rows' quants as 4-byte groups k (Q4_0: 4 groups of the 16
//       nibble bytes, Q5_0: those and a fifth group of its fifth bits, reordered so that bit
//       8i + G is the fifth bit of value 4G + i; Q8_0: 8 groups of the 32 values), 64 bytes per
//       k: row 0's bytes 4k..4k+3, row 1's, ..., row 15's (16 · (sizeof(Block) − 2) bytes per
//       block);
//     then, for each block b: the 16 rows' fp16 scales d, row order (32 bytes per block).
//   Q8_0 quants are stored as unsigned bytes w + 128, the operand vpdpbusd takes unsigned.
//   Q4_K (super-blocks of 256 values, 144 bytes) keeps each super-block's bytes together: per
//   super-block b of a group, 2304 bytes: 32 4-byte groups of the nibble bytes qs (64 bytes per
//   group, rows side by side as above), the 12 scale bytes as 3 such 4-byte groups, then the 16
//   rows' d and the 16 rows' dmin (fp16). Q6_K (210 bytes) likewise, 3360 bytes per super-block:
//   32 4-byte groups of the low nibbles ql, 16 of the high bits qh, 4 of the 16 int8 scales, then
//   the 16 rows' d.
//   So a 512-bit load is one group k of all 16 rows (lane r = row r), 64-byte aligned when the
//   group is, and a 256-bit load 32 bytes further is rows 8..15.
//   F32, F16 and BF16 (n_in a multiple of 8): each half of a group, 8 rows, column-major: value i
//   of row 8h + r at element 8·i + r of half h (rows [8h, 8h + 8) · row_bytes). A tile of 8 rows
//   then reads one contiguous stream, column i in one 8-value load.
//   The last n_out % 16 rows stay in the file's layout, where they were.
#pragma once

#include <cstdint>

#include "kernels/matmul.h"

namespace rs::kernels {

inline constexpr int64_t kLaneRows = 16;  // rows per group of the lane layout

// Whether pack_lanes applies to w: a Q4_0, Q5_0, Q8_0, Q4_K, Q6_K, F32, F16 or BF16 matrix in the
// file's layout, with at least one group of rows, on a CPU whose kernels read the layout (AVX2 or
// AVX-512). The environment variable RIGHTSIZE_REPACK=0 turns repacking off (to compare, or to
// share the page cache of a model between processes: repacked weights are private memory).
bool lane_packable(const WeightView& w);

// Writes the rows of w (lane_packable) to dst, w.n_out · w.row_bytes bytes, in the lane layout
// and returns the view of dst. Results of matmul are bit-identical to those of w.
WeightView pack_lanes(const WeightView& w, uint8_t* dst);

// Row r of a lane-layout view in the file's layout: row_bytes bytes to dst.
void unpack_lane_row(const WeightView& w, int64_t r, uint8_t* dst);

}  // namespace rs::kernels
