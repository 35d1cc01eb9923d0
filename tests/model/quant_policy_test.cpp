// Per-tensor type rules of the quantization mixes (llama-quantize's llama_tensor_get_type) at the
// shapes the speed anchors use: SmolLM2-135M (rows of 576, not a multiple of 256) and
// Llama-3.2-1B (rows of 2048), both with a tied output layer.
#include <gtest/gtest.h>

#include "kernels/quant.h"
#include "model/quant_policy.h"

namespace rs {
namespace {

QuantModelInfo tied_info(int64_t n_layer) {
  std::vector<std::string> names = {"token_embd.weight", "output_norm.weight"};
  for (int64_t l = 0; l < n_layer; ++l)
    names.push_back("blk." + std::to_string(l) + ".attn_v.weight");
  return quant_model_info(names, n_layer, "llama");
}

DType type_of(const std::string& name, std::vector<int64_t> ne, QuantMix mix,
              const QuantModelInfo& info, bool pure = false) {
  return choose_tensor_type(name, ne, DType::F32, mix, pure, info).type;
}

TEST(QuantPolicy, MixNames) {
  EXPECT_EQ(quant_mix_from_name("Q4_K_M"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("q4_k"), QuantMix::Q4_K_M);  // llama-quantize's alias
  EXPECT_EQ(quant_mix_from_name("q8_0"), QuantMix::Q8_0);
  EXPECT_EQ(quant_mix_from_name("BF16"), QuantMix::BF16);
  EXPECT_FALSE(quant_mix_from_name("q5_0"));
  EXPECT_FALSE(quant_mix_from_name(""));
  EXPECT_EQ(quant_mix_info(QuantMix::Q4_K_M).file_type, 15u);
  EXPECT_EQ(quant_mix_info(QuantMix::Q4_0).file_type, 2u);
  EXPECT_EQ(quant_mix_info(QuantMix::Q8_0).file_type, 7u);
  EXPECT_EQ(quant_mix_info(QuantMix::Q6_K).file_type, 18u);
  EXPECT_EQ(quant_mix_info(QuantMix::F16).file_type, 1u);
  EXPECT_EQ(quant_mix_info(QuantMix::BF16).file_type, 32u);
}

TEST(QuantPolicy, UseMoreBitsLayers) {
  // 30 layers: the first 3, the last 4 (>= 26) and 5, 8, ..., 23.
  std::vector<int64_t> got;
  for (int64_t i = 0; i < 30; ++i)
    if (use_more_bits(i, 30)) got.push_back(i);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29}));
  got.clear();
  for (int64_t i = 0; i < 16; ++i)
    if (use_more_bits(i, 16)) got.push_back(i);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 4, 7, 10, 13, 14, 15}));
}

TEST(QuantPolicy, NormsBiasesAndOneDimensionalTensorsKeepTheirType) {
  const auto info = tied_info(2);
  for (const char* name : {"blk.0.attn_norm.weight", "output_norm.weight", "blk.0.attn_q.bias"}) {
    const TypeChoice c = choose_tensor_type(name, {576}, DType::F32, QuantMix::Q4_0, false, info);
    EXPECT_FALSE(c.quantized) << name;
    EXPECT_EQ(c.type, DType::F32) << name;
  }
  EXPECT_EQ(
      choose_tensor_type("position_embd.weight", {64, 512}, DType::F32, QuantMix::Q8_0, false, info)
          .type,
      DType::F32);
  EXPECT_EQ(
      choose_tensor_type("blk.0.attn_q.weight", {576, 576}, DType::F16, QuantMix::F32, false, info)
          .type,
      DType::F32);
}

TEST(QuantPolicy, Smollm2ShapeQ4_0) {
  const auto info = tied_info(30);
  EXPECT_EQ(type_of("blk.3.attn_q.weight", {576, 576}, QuantMix::Q4_0, info), DType::Q4_0);
  EXPECT_EQ(type_of("blk.3.ffn_down.weight", {1536, 576}, QuantMix::Q4_0, info), DType::Q4_0);
  // Tied embedding: Q6_K wanted, 576 % 256 != 0 → Q8_0 (as PERF-ANCHORS says of llama.cpp's file).
  const TypeChoice c = choose_tensor_type("token_embd.weight", {576, 50257}, DType::F32,
                                          QuantMix::Q4_0, false, info);
  EXPECT_EQ(c.type, DType::Q8_0);
  EXPECT_NE(c.note.find("q6_K"), std::string::npos) << c.note;
}

TEST(QuantPolicy, Smollm2ShapeQ4_K_M) {
  const auto info = tied_info(30);
  EXPECT_EQ(type_of("token_embd.weight", {576, 50257}, QuantMix::Q4_K_M, info), DType::Q8_0);
  // Q4_K on 576-long rows: llama.cpp falls back to Q5_0; rightsize computes Q8_0 until Q5_0 exists.
  const TypeChoice q = choose_tensor_type("blk.3.attn_q.weight", {576, 576}, DType::F32,
                                          QuantMix::Q4_K_M, false, info);
  EXPECT_EQ(q.type, kernels::is_supported(DType::Q5_0) ? DType::Q5_0 : DType::Q8_0);
  EXPECT_NE(q.note.find("q5_0"), std::string::npos) << q.note;
  // ffn_down rows are 1536 = 6 × 256: Q4_K, or Q6_K in a use_more_bits layer.
  EXPECT_EQ(type_of("blk.3.ffn_down.weight", {1536, 576}, QuantMix::Q4_K_M, info), DType::Q4_K);
  EXPECT_EQ(type_of("blk.5.ffn_down.weight", {1536, 576}, QuantMix::Q4_K_M, info), DType::Q6_K);
  // attn_v in a use_more_bits layer wants Q6_K; rows of 576 → Q8_0.
  EXPECT_EQ(type_of("blk.0.attn_v.weight", {576, 192}, QuantMix::Q4_K_M, info), DType::Q8_0);
}

TEST(QuantPolicy, Llama1bShape) {
  const auto info = tied_info(16);
  EXPECT_EQ(type_of("token_embd.weight", {2048, 32000}, QuantMix::Q4_0, info), DType::Q6_K);
  EXPECT_EQ(type_of("token_embd.weight", {2048, 32000}, QuantMix::Q4_K_M, info), DType::Q6_K);
  EXPECT_EQ(type_of("token_embd.weight", {2048, 32000}, QuantMix::Q8_0, info), DType::Q8_0);
  EXPECT_EQ(type_of("blk.2.attn_v.weight", {2048, 512}, QuantMix::Q4_K_M, info), DType::Q4_K);
  EXPECT_EQ(type_of("blk.4.attn_v.weight", {2048, 512}, QuantMix::Q4_K_M, info), DType::Q6_K);
  EXPECT_EQ(type_of("blk.15.ffn_down.weight", {8192, 2048}, QuantMix::Q4_K_M, info), DType::Q6_K);
  EXPECT_EQ(type_of("blk.6.ffn_down.weight", {8192, 2048}, QuantMix::Q4_K_M, info), DType::Q4_K);
  EXPECT_EQ(type_of("blk.6.ffn_gate.weight", {2048, 8192}, QuantMix::Q4_K_M, info), DType::Q4_K);
  // --pure: no mix rules.
  EXPECT_EQ(type_of("token_embd.weight", {2048, 32000}, QuantMix::Q4_K_M, info, true), DType::Q4_K);
  EXPECT_EQ(type_of("blk.4.attn_v.weight", {2048, 512}, QuantMix::Q4_K_M, info, true), DType::Q4_K);
}

TEST(QuantPolicy, UntiedEmbeddingKeepsTheBaseType) {
  const auto info =
      quant_model_info({"token_embd.weight", "output.weight", "blk.0.attn_v.weight"}, 1, "llama");
  EXPECT_TRUE(info.has_output);
  EXPECT_EQ(type_of("token_embd.weight", {256, 2048}, QuantMix::Q4_0, info), DType::Q4_0);
  EXPECT_EQ(type_of("output.weight", {256, 2048}, QuantMix::Q4_0, info), DType::Q6_K);
}

TEST(QuantPolicy, FusedQkvWantsQ5K) {
  const auto info = quant_model_info({"blk.0.attn_qkv.weight"}, 1, "phi3");
  const TypeChoice c = choose_tensor_type("blk.0.attn_qkv.weight", {256, 768}, DType::F32,
                                          QuantMix::Q4_K_M, false, info);
  EXPECT_EQ(c.type, kernels::is_supported(DType::Q5_K) ? DType::Q5_K : DType::Q6_K);
}

TEST(QuantPolicy, RowsNotAMultipleOf32FallBackToF16) {
  const auto info = tied_info(1);
  EXPECT_EQ(type_of("blk.0.attn_q.weight", {100, 64}, QuantMix::Q4_0, info), DType::F16);
  EXPECT_EQ(type_of("blk.0.attn_q.weight", {100, 64}, QuantMix::Q4_K_M, info), DType::F16);
}

}  // namespace
}  // namespace rs
