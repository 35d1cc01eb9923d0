// kernels::pack_lanes (repack.h): the lane layout gives bit-identical matmul results to the file's
// layout for every token count, thread count and SIMD instruction set, including the rows after
// the last whole group of 16; get_row and unpack_lane_row give back the original rows.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/repack.h"

namespace rs::kernels {
namespace {

using gemm::Isa;

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Packed {
  std::vector<uint8_t> rows, lanes;
  WeightView rows_view, lanes_view;
};

Packed make(DType t, int64_t n_in, int64_t n_out) {
  Packed p;
  const size_t row = row_bytes(dtype_info(t), static_cast<uint64_t>(n_in));
  p.rows.resize(row * static_cast<size_t>(n_out));
  const auto values = gaussian(static_cast<size_t>(n_in * n_out), 11);
  for (int64_t r = 0; r < n_out; ++r)
    quantize_row(t, values.data() + r * n_in, p.rows.data() + r * row, n_in);
  p.rows_view = {t, n_in, n_out, p.rows.data(), row, WeightLayout::Rows};
  p.lanes.resize(p.rows.size());
  p.lanes_view = pack_lanes(p.rows_view, p.lanes.data());
  return p;
}

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Avx2, Isa::Avx512})
    if (gemm::isa_supported(isa)) out.push_back(isa);
  return out;
}

class RepackTest : public ::testing::TestWithParam<DType> {};

TEST_P(RepackTest, MatmulBitIdenticalToFileLayout) {
  if (simd_isas().empty()) GTEST_SKIP() << "the lane layout needs AVX2";
  ThreadPool pool2(2);
  // 16 · 5 + 7 rows: whole groups and a tail in the file's layout;
  // 3 blocks per row (K-quants: 2 super-blocks; float types: 12 columns of 8).
  const int64_t n_in = dtype_info(GetParam()).block_size == 256 ? 512 : 96;
  for (int64_t n_out : {16, 87}) {
    const Packed p = make(GetParam(), n_in, n_out);
    EXPECT_EQ(p.lanes_view.layout, WeightLayout::Lanes16);
    EXPECT_NE(std::memcmp(p.rows.data(), p.lanes.data(), 16 * p.rows_view.row_bytes), 0);
    for (int64_t tokens : {1, 2, 5, 19}) {
      const auto x = gaussian(static_cast<size_t>(tokens * n_in), 5);
      for (Isa isa : simd_isas())
        for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
          std::vector<float> want(static_cast<size_t>(tokens * n_out)), got(want.size());
          matmul(p.rows_view, x.data(), tokens, want.data(), nullptr, pool, isa);
          matmul(p.lanes_view, x.data(), tokens, got.data(), nullptr, pool, isa);
          ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
              << "n_out " << n_out << " tokens " << tokens << " isa " << gemm::isa_name(isa)
              << (pool ? " 2 threads" : " 1 thread");
        }
    }
  }
}

TEST_P(RepackTest, RowsComeBack) {
  const int64_t n_in = dtype_info(GetParam()).block_size == 256 ? 256 : 64;
  const Packed p = make(GetParam(), n_in, 37);
  std::vector<uint8_t> row(p.rows_view.row_bytes);
  std::vector<float> want(static_cast<size_t>(n_in)), got(want.size());
  for (int64_t r = 0; r < 37; ++r) {
    unpack_lane_row(p.lanes_view, r, row.data());
    EXPECT_EQ(std::memcmp(row.data(), p.rows_view.row(r), row.size()), 0) << "row " << r;
    get_row(p.rows_view, r, want.data());
    get_row(p.lanes_view, r, got.data());
    EXPECT_EQ(want, got) << "row " << r;
  }
}

TEST(Repack, ScalarKernelsRefuseTheLaneLayout) {
  const Packed p = make(DType::Q4_0, 32, 16);
  std::vector<float> x(32, 1.0f), y(16);
  EXPECT_THROW(matmul(p.lanes_view, x.data(), 1, y.data(), nullptr, nullptr, Isa::Scalar), Error);
}

TEST(Repack, OnlyTypesWithLaneTilesPack) {
  const Packed q4 = make(DType::Q4_0, 32, 16);
  EXPECT_EQ(lane_packable(q4.rows_view), gemm::active_isa() != Isa::Scalar);
  EXPECT_FALSE(lane_packable(q4.lanes_view));  // already packed
  for (DType t : {DType::Q5_0, DType::Q8_0})
    EXPECT_EQ(lane_packable(make(t, 32, 16).rows_view), gemm::active_isa() != Isa::Scalar);
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    const Packed p = make(t, 8, 16);
    EXPECT_EQ(lane_packable(p.rows_view), gemm::active_isa() != Isa::Scalar);
    WeightView ragged = p.rows_view;  // columns in whole eights only
    ragged.n_in = 12;
    EXPECT_FALSE(lane_packable(ragged));
  }
  const Packed q4k = make(DType::Q4_K, 256, 16);
  EXPECT_EQ(lane_packable(q4k.rows_view), gemm::active_isa() != Isa::Scalar);
  WeightView q5k = q4k.rows_view;  // no lane tiles (yet)
  q5k.type = DType::Q5_K;
  EXPECT_FALSE(lane_packable(q5k));
  WeightView few = q4.rows_view;
  few.n_out = 15;
  EXPECT_FALSE(lane_packable(few));
}

INSTANTIATE_TEST_SUITE_P(Types, RepackTest,
                         ::testing::Values(DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K,
                                           DType::Q6_K, DType::F32, DType::F16, DType::BF16),
                         [](const auto& p) { return std::string(dtype_name(p.param)); });

}  // namespace
}  // namespace rs::kernels
