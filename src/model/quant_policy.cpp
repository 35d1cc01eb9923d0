#include "model/quant_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "kernels/quant.h"

namespace rs {
namespace {

constexpr QuantMixInfo kMixes[] = {
    {QuantMix::F32, "f32", 0, DType::F32},     {QuantMix::F16, "f16", 1, DType::F16},
    {QuantMix::BF16, "bf16", 32, DType::BF16}, {QuantMix::Q8_0, "q8_0", 7, DType::Q8_0},
    {QuantMix::Q4_0, "q4_0", 2, DType::Q4_0},  {QuantMix::Q4_K_M, "q4_k_m", 15, DType::Q4_K},
    {QuantMix::Q6_K, "q6_k", 18, DType::Q6_K},
};

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ggml_n_dims: trailing dimensions of size 1 do not count.
int n_dims(const std::vector<int64_t>& ne) {
  int n = static_cast<int>(ne.size());
  while (n > 1 && ne[static_cast<size_t>(n - 1)] == 1) --n;
  return n;
}

// Layer index from "blk.<i>.", or -1.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t v = -1;
  auto [p, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), v);
  return ec == std::errc() && p < name.data() + name.size() && *p == '.' ? v : -1;
}

bool is_block_quant(DType t) {
  return dtype_info(t).block_size > 1;
}

// llama-quantize leaves these alone whatever the mix.
bool allows_quantization(const std::string& name, const std::vector<int64_t>& ne) {
  if (n_dims(ne) < 2 || !ends_with(name, "weight")) return false;
  for (std::string_view skip :
       {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d", "attn_rel_b.weight",
        "time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight"})
    if (contains(name, skip)) return false;
  return name != "position_embd.weight" && name != "token_types.weight";
}

// The per-tensor rules of the llama.cpp mixes rightsize offers (before shape fallbacks).
DType mix_rule(const std::string& name, const std::vector<int64_t>& ne, DType t, QuantMix mix,
               const QuantModelInfo& info, std::string& note) {
  const bool q4km = mix == QuantMix::Q4_K_M;
  if (name == "output.weight" || (!info.has_output && name == "token_embd.weight")) {
    const char* what = name == "output.weight" ? "output" : "tied embedding = output";
    if (ne[0] % dtype_info(t).block_size != 0) {
      note = std::string(what) + ": rows not a multiple of the mix's block";
      return DType::Q8_0;
    }
    if (t != DType::Q8_0) {
      note = what;
      return DType::Q6_K;
    }
    return t;
  }
  const int64_t layer = layer_of(name);
  if (contains(name, "attn_v.weight")) {
    if (q4km && use_more_bits(layer, info.n_attention_wv)) {
      note = "attn_v in a use_more_bits layer";
      return DType::Q6_K;
    }
  } else if (contains(name, "ffn_down")) {
    if (q4km && info.arch == "falcon") {
      if (layer < info.n_layer / 16) {
        note = "falcon ffn_down, first 1/16 of the layers";
        return DType::Q6_K;
      }
      if (use_more_bits(layer, info.n_layer)) {
        note = "falcon ffn_down in a use_more_bits layer";
        return DType::Q5_K;
      }
    } else if (q4km && use_more_bits(layer, info.n_layer)) {
      note = "ffn_down in a use_more_bits layer";
      return DType::Q6_K;
    }
  } else if (contains(name, "attn_qkv.weight")) {
    if (q4km) {
      note = "fused attn_qkv";
      return DType::Q5_K;
    }
  }
  return t;
}

void append(std::string& note, const std::string& more) {
  note += (note.empty() ? "" : "; ") + more;
}

}  // namespace

bool use_more_bits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

const QuantMixInfo& quant_mix_info(QuantMix mix) {
  for (const auto& m : kMixes)
    if (m.mix == mix) return m;
  return kMixes[0];
}

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "q4_k") lower = "q4_k_m";
  for (const auto& m : kMixes)
    if (m.name == lower) return m.mix;
  return std::nullopt;
}

std::string quant_mix_names() {
  return "f32, f16, bf16, q8_0, q4_0, q4_k_m (alias q4_k), q6_k";
}

std::optional<QuantMix> quant_mix_from_file_type(uint32_t file_type) {
  for (const auto& m : kMixes)
    if (m.file_type == file_type) return m.mix;
  return std::nullopt;
}

QuantModelInfo quant_model_info(const std::vector<std::string>& names, int64_t n_layer,
                                std::string arch) {
  QuantModelInfo info;
  info.n_layer = n_layer;
  info.arch = std::move(arch);
  for (const auto& n : names) {
    if (contains(n, "attn_v.weight") || contains(n, "attn_qkv.weight") ||
        contains(n, "attn_kv_b.weight"))
      ++info.n_attention_wv;
    else if (n == "output.weight")
      info.has_output = true;
  }
  return info;
}

TypeChoice choose_tensor_type(const std::string& name, const std::vector<int64_t>& ne,
                              DType current, QuantMix mix, bool pure, const QuantModelInfo& info) {
  TypeChoice c;
  if (ne.empty() || !allows_quantization(name, ne)) {
    c.type = current;
    return c;
  }
  c.quantized = true;
  const DType base = quant_mix_info(mix).base;
  c.type = base;
  if (!is_block_quant(base)) return c;  // F32/F16/BF16 mixes: every 2-D weight in that type

  if (!pure) c.type = mix_rule(name, ne, base, mix, info, c.note);

  // Shape fallback, as llama-quantize does it.
  if (ne[0] % dtype_info(c.type).block_size != 0) {
    const DType wanted = c.type;
    switch (wanted) {
      case DType::Q4_K:
        c.type = DType::Q5_0;
        break;
      case DType::Q5_K:
        c.type = DType::Q5_1;
        break;
      case DType::Q6_K:
        c.type = DType::Q8_0;
        break;
      default:
        c.type = DType::F16;
        break;  // llama-quantize refuses; F16 always fits
    }
    if (ne[0] % dtype_info(c.type).block_size != 0) c.type = DType::F16;
    append(c.note,
           fmt::format("row {} not a multiple of {} ({}) -> {}", ne[0],
                       dtype_info(wanted).block_size, dtype_name(wanted), dtype_name(c.type)));
  }

  // rightsize cannot compute every type llama.cpp picks yet: take the nearest one with at least
  // as many bits that it can.
  if (!kernels::is_supported(c.type)) {
    const DType wanted = c.type;
    c.type = wanted == DType::Q5_K && ne[0] % 256 == 0 ? DType::Q6_K : DType::Q8_0;
    if (!kernels::is_supported(c.type)) c.type = DType::F16;
    append(c.note, fmt::format("llama.cpp uses {}, which rightsize cannot compute yet -> {}",
                               dtype_name(wanted), dtype_name(c.type)));
  }
  return c;
}

}  // namespace rs
