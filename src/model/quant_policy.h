// Which type each tensor of a model gets when it is quantized: the "file types" (mixes) of
// llama.cpp's llama-quantize and its per-tensor rules, so that `rightsize quantize` and
// `llama-quantize` produce the same tensor types (and, with the kernels' byte-exact quantizers,
// the same bytes) for the mixes rightsize can compute.
//
// Rules (llama.cpp llama_tensor_get_type, early 2025; written from its behaviour, not copied):
//   * Only tensors with >= 2 dimensions whose name ends in "weight" are quantized; norms
//     ("*_norm.weight"), positional embeddings, token types and 1-D tensors (biases) keep their
//     type (F32 in practice).
//   * output.weight — and token_embd.weight when there is no output.weight (tied) — gets Q6_K for
//     every quantized mix except Q8_0 (which keeps Q8_0); Q8_0 when its rows are not a multiple
//     of the mix's block size.
//   * Q4_K_M: attn_v and ffn_down get Q6_K in the "use_more_bits" layers: the first and last
//     eighth of the layers and every third layer in between (i < n/8 || i >= 7n/8 ||
//     (i - n/8) % 3 == 2); attn_qkv (fused) gets Q5_K. Everything else Q4_K.
//   * Fallback when a row length is not a multiple of the chosen type's block (e.g. 576 for a
//     256-block K-quant): Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0; F16 if even that does not fit.
//
// rightsize's one departure: a type llama.cpp picks that rightsize cannot compute with yet is
// replaced by the nearest type with at least as many bits that it can (Q5_0, Q5_1 → Q8_0;
// Q5_K → Q6_K, or Q8_0 when the row is not a multiple of 256), checked at run time with
// kernels::is_supported. The replacement is recorded in the tensor's note and printed in the
// summary. Q5_0 is supported now, so the Q4_K_M mix of a 576-wide model is llama.cpp's exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace rs {

enum class QuantMix { F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q6_K };

struct QuantMixInfo {
  QuantMix mix;
  std::string_view name;  // as users type it (lower case)
  uint32_t file_type;     // general.file_type, llama.cpp's llama_ftype numbering
  DType base;             // type of the bulk of the weights
};

const QuantMixInfo& quant_mix_info(QuantMix mix);
// Case-insensitive; "q4_k" is an alias of "q4_k_m", as in llama-quantize.
std::optional<QuantMix> quant_mix_from_name(std::string_view name);
// "f32, f16, bf16, q8_0, q4_0, q4_k_m (alias q4_k), q6_k"
std::string quant_mix_names();
// The mix a general.file_type value names, when it is one of ours (for `bench` tables).
std::optional<QuantMix> quant_mix_from_file_type(uint32_t file_type);

// Model-wide facts the rules need, gathered from all tensor names first.
struct QuantModelInfo {
  int64_t n_layer = 0;      // <arch>.block_count
  int n_attention_wv = 0;   // attn_v / attn_qkv / attn_kv_b tensors
  bool has_output = false;  // output.weight exists (otherwise token_embd is the tied output)
  std::string arch;         // general.architecture (falcon has its own ffn_down rule)
};
QuantModelInfo quant_model_info(const std::vector<std::string>& tensor_names, int64_t n_layer,
                                std::string arch);

struct TypeChoice {
  DType type = DType::F32;
  bool quantized = false;  // false: the tensor keeps its current type (norms, biases, ...)
  std::string note;        // why the type differs from the mix's base type, "" when it does not
};

// The type tensor `name` of shape `ne` (ne[0] = row length) and current type `current` is
// written in. pure: every quantizable tensor gets the base type (still with the fallbacks).
TypeChoice choose_tensor_type(const std::string& name, const std::vector<int64_t>& ne,
                              DType current, QuantMix mix, bool pure, const QuantModelInfo& info);

// llama.cpp's layer selection for the Q4_K_M/Q5_K_M "more bits" tensors.
bool use_more_bits(int64_t i_layer, int64_t n_layer);

}  // namespace rs
