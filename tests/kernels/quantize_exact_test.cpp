// Byte-exact quantization: quantize_row(type, master row) must reproduce, byte for byte, every
// row that `llama-quantize <f32 master> <out> <TYPE>` (no imatrix) wrote into the oracle files.
// Prints per type how many tensors and blocks are identical and, for rows that differ, the
// largest difference between the two dequantized rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "oracle_gguf.h"
#include "kernels/quant.h"

namespace rs::kernels {
namespace {

using rs::test::MiniGguf;

struct TypeTally {
  int tensors = 0, identical_tensors = 0;
  int64_t blocks = 0, identical_blocks = 0;
  double max_dequant_diff = 0;
};

// Quantizes every quantized tensor of quant_file from master_file and tallies exactness per type.
void check_exact(const std::string& quant_file, const std::string& master_file) {
  const auto dir = rs::test::oracle_models();
  const MiniGguf q(dir / quant_file);
  const MiniGguf master(dir / master_file);
  std::map<DType, TypeTally> tally;
  for (const auto& qt : q.tensors()) {
    if (qt.type == DType::F32) continue;  // norms are copied, nothing to quantize
    SCOPED_TRACE(quant_file + ": " + qt.name);
    const auto* mt = master.find(qt.name);
    ASSERT_NE(mt, nullptr);
    ASSERT_EQ(mt->type, DType::F32);
    ASSERT_EQ(mt->ne, qt.ne);
    const int64_t n = qt.row_len();
    const size_t rb = qt.row_bytes();
    const auto& info = dtype_info(qt.type);
    const size_t block_bytes = info.block_bytes;
    std::vector<uint8_t> ours(rb);
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    TypeTally& t = tally[qt.type];
    bool all_same = true;
    for (int64_t r = 0; r < qt.n_rows(); ++r) {
      const auto* x = reinterpret_cast<const float*>(mt->row(r));
      quantize_row(qt.type, x, ours.data(), n);
      const uint8_t* theirs = qt.row(r);
      for (size_t off = 0; off < rb; off += block_bytes) {
        ++t.blocks;
        if (std::memcmp(ours.data() + off, theirs + off, block_bytes) == 0) ++t.identical_blocks;
      }
      if (std::memcmp(ours.data(), theirs, rb) != 0) {
        all_same = false;
        dequantize_row(qt.type, ours.data(), a.data(), n);
        dequantize_row(qt.type, theirs, b.data(), n);
        for (int64_t i = 0; i < n; ++i)
          t.max_dequant_diff = std::max(t.max_dequant_diff, std::fabs(double(a[i]) - b[i]));
      }
    }
    ++t.tensors;
    if (all_same) ++t.identical_tensors;
    EXPECT_TRUE(all_same) << "quantize_row output differs from llama-quantize";
  }
  for (const auto& [type, t] : tally) {
    std::printf(
        "%-22s %-5s tensors %d/%d byte-identical, blocks %lld/%lld (%.4f%%), "
        "max dequantized diff %.3g\n",
        quant_file.c_str(), std::string(dtype_name(type)).c_str(), t.identical_tensors, t.tensors,
        static_cast<long long>(t.identical_blocks), static_cast<long long>(t.blocks),
        t.blocks ? 100.0 * static_cast<double>(t.identical_blocks) / t.blocks : 0.0,
        t.max_dequant_diff);
  }
  EXPECT_FALSE(tally.empty());
}

TEST(QuantizeExact, F16) {
  RS_REQUIRE_SHARED();
  check_exact("llama-spm-f16.gguf", "llama-spm-f32.gguf");
}
TEST(QuantizeExact, Q8_0) {
  RS_REQUIRE_SHARED();
  check_exact("llama-spm-q8_0.gguf", "llama-spm-f32.gguf");
}
TEST(QuantizeExact, Qwen2Q8_0) {
  RS_REQUIRE_SHARED();
  check_exact("qwen2-q8_0.gguf", "qwen2-f32.gguf");
}
// Also covers output.weight, which llama-quantize made Q6_K in the Q4_0 file.
TEST(QuantizeExact, Q4_0) {
  RS_REQUIRE_SHARED();
  check_exact("llama-spm-q4_0.gguf", "llama-spm-f32.gguf");
}
TEST(QuantizeExact, Q6_K) {
  RS_REQUIRE_SHARED();
  check_exact("llama-spm-q6_k.gguf", "llama-spm-f32.gguf");
}
// Q4_K_M mixes Q4_K and Q6_K tensors.
TEST(QuantizeExact, Q4_K_M) {
  RS_REQUIRE_SHARED();
  check_exact("llama-spm-q4_k_m.gguf", "llama-spm-f32.gguf");
}

}  // namespace
}  // namespace rs::kernels
