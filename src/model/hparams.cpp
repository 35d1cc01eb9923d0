#include "model/hparams.h"

#include <cmath>

#include "core/error.h"
#include "formats/gguf.h"

namespace rs {
namespace {

using kernels::RopeStyle;

constexpr ArchTraits kArchs[] = {
    // name     norm             ffn                 rope                  rope  causal sqrt  swa-even
    {"llama", NormKind::RMS, FfnKind::SiluGated, RopeStyle::Interleaved, true, true, false, false},
    {"qwen2", NormKind::RMS, FfnKind::SiluGated, RopeStyle::Halves, true, true, false, false},
    {"phi3", NormKind::RMS, FfnKind::SiluGated, RopeStyle::Halves, true, true, false, false},
    {"gemma2", NormKind::RMS, FfnKind::GeluGated, RopeStyle::Halves, true, true, true, true},
    {"bert", NormKind::Layer, FfnKind::Gelu, RopeStyle::Interleaved, false, false, false, false},
};

}  // namespace

const ArchTraits* find_arch(const std::string& name) {
  for (const auto& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

std::string supported_arch_names() {
  std::string s;
  for (const auto& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

void HParams::validate() const {
  RS_CHECK(n_embd > 0 && n_layer > 0 && n_head > 0 && n_head_kv > 0 && n_ff > 0,
           "model hyper-parameters are incomplete (n_embd {}, n_layer {}, n_head {}, n_head_kv {}, n_ff {})",
           n_embd, n_layer, n_head, n_head_kv, n_ff);
  RS_CHECK(n_embd <= (1 << 20) && n_layer <= 4096 && n_head <= 4096 && n_ff <= (1 << 24),
           "model hyper-parameters are absurd (n_embd {}, n_layer {}, n_head {}, n_ff {})", n_embd,
           n_layer, n_head, n_ff);
  RS_CHECK(n_head % n_head_kv == 0, "n_head {} is not a multiple of n_head_kv {}", n_head, n_head_kv);
  RS_CHECK(head_dim > 0 && head_dim_v > 0 && head_dim <= 4096, "bad head size {}", head_dim);
  RS_CHECK(n_rot >= 0 && n_rot <= head_dim && n_rot % 2 == 0, "bad rope dimension count {} for head size {}",
           n_rot, head_dim);
  RS_CHECK(std::isfinite(norm_eps) && norm_eps >= 0, "bad norm epsilon");
}

HParams hparams_from_gguf(const gguf::File& f) {
  const auto arch_name = f.get_string("general.architecture");
  RS_CHECK(arch_name, "{}: no general.architecture in the metadata; is this a model file?", f.name());
  HParams hp;
  hp.arch = find_arch(*arch_name);
  RS_CHECK(hp.arch, "{}: architecture '{}' is not supported (supported: {})", f.name(), *arch_name,
           supported_arch_names());
  const std::string p = *arch_name + ".";
  auto req = [&](const std::string& key) -> int64_t {
    auto v = f.get_uint(p + key);
    RS_CHECK(v, "{}: missing metadata '{}{}'", f.name(), p, key);
    RS_CHECK(*v < (1ull << 31), "{}: metadata '{}{}' = {} is absurd", f.name(), p, key, *v);
    return static_cast<int64_t>(*v);
  };
  auto opt = [&](const std::string& key, int64_t def) -> int64_t {
    auto v = f.get_uint(p + key);
    if (v) RS_CHECK(*v < (1ull << 31), "{}: metadata '{}{}' = {} is absurd", f.name(), p, key, *v);
    return v ? static_cast<int64_t>(*v) : def;
  };
  hp.n_embd = req("embedding_length");
  hp.n_layer = req("block_count");
  hp.n_ff = req("feed_forward_length");
  hp.n_head = req("attention.head_count");
  hp.n_head_kv = opt("attention.head_count_kv", hp.n_head);
  hp.n_ctx_train = opt("context_length", 2048);
  RS_CHECK(hp.n_head > 0, "{}: attention.head_count is 0", f.name());
  hp.head_dim = opt("attention.key_length", hp.n_embd / hp.n_head);
  hp.head_dim_v = opt("attention.value_length", hp.head_dim);
  hp.n_rot = static_cast<int>(opt("rope.dimension_count", hp.head_dim));
  hp.rope_base = static_cast<float>(f.get_float(p + "rope.freq_base").value_or(10000.0));
  hp.rope_style = hp.arch->rope;
  if (!hp.arch->use_rope) hp.n_rot = 0;
  const auto eps_key = hp.arch->norm == NormKind::RMS ? "attention.layer_norm_rms_epsilon"
                                                      : "attention.layer_norm_epsilon";
  hp.norm_eps = static_cast<float>(f.get_float(p + eps_key).value_or(1e-5));
  hp.attn_softcap = static_cast<float>(f.get_float(p + "attn_logit_softcapping").value_or(0.0));
  hp.final_softcap = static_cast<float>(f.get_float(p + "final_logit_softcapping").value_or(0.0));
  hp.sliding_window = opt("attention.sliding_window", 0);
  hp.causal = f.get_bool(p + "attention.causal").value_or(hp.arch->causal);
  if (!hp.arch->causal) {
    const int64_t pt = opt("pooling_type", 1);
    RS_CHECK(pt >= 0 && pt <= 3, "{}: unsupported pooling_type {}", f.name(), pt);
    hp.pooling = static_cast<Pooling>(pt == 0 ? 1 : pt);
  }
  return hp;
}

}  // namespace rs
