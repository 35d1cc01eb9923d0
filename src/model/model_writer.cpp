#include "model/model_writer.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "formats/gguf.h"

namespace rs {
namespace {

struct Preset {
  const char* name;
  ModelShape shape;
};

ModelShape make_shape(const char* arch, int64_t vocab, int64_t embd, int64_t layers, int64_t heads,
                      int64_t kv_heads, int64_t ff, int64_t ctx, float rope_base, float eps) {
  ModelShape s;
  s.arch = arch;
  s.n_vocab = vocab;
  s.n_embd = embd;
  s.n_layer = layers;
  s.n_head = heads;
  s.n_head_kv = kv_heads;
  s.n_ff = ff;
  s.n_ctx = ctx;
  s.rope_base = rope_base;
  s.norm_eps = eps;
  return s;
}

// Vocabulary sizes follow docs/PERF-ANCHORS.md (50,257 and 32,000), not the real models
// (49,152 and 128,256), so these files match the llama.cpp reference figures.
const Preset kPresets[] = {
    {"smollm2-135m", make_shape("llama", 50257, 576, 30, 9, 3, 1536, 2048, 100000.0f, 1e-5f)},
    {"llama3.2-1b", make_shape("llama", 32000, 2048, 16, 32, 8, 8192, 4096, 500000.0f, 1e-5f)},
    {"qwen2.5-0.5b", make_shape("qwen2", 151936, 896, 24, 14, 2, 4864, 4096, 1000000.0f, 1e-6f)},
    {"tiny", make_shape("llama", 512, 256, 2, 4, 2, 512, 512, 10000.0f, 1e-5f)},
};

// splitmix64: a tiny, well-mixed generator; one independent stream per row, so the values do not
// depend on how rows are split across threads.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1]: 24 random bits, never 0 (log(0) below).
  float uniform() { return (static_cast<float>(next() >> 40) + 1.0f) * (1.0f / 16777216.0f); }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Row r of a Gaussian tensor: Box-Muller pairs from the row's own stream.
void gaussian_row(uint64_t stream_seed, int64_t row, float std_dev, float* out, int64_t n) {
  SplitMix g{stream_seed ^ (static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull)};
  g.next();
  constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;
  for (int64_t i = 0; i < n; i += 2) {
    const float radius = std_dev * std::sqrt(-2.0f * std::log(g.uniform()));
    const float angle = kTwoPi * g.uniform();
    out[i] = radius * std::cos(angle);
    if (i + 1 < n) out[i + 1] = radius * std::sin(angle);
  }
}

// Metadata as convert_hf_to_gguf.py writes it for these architectures.
void set_metadata(gguf::Writer& w, const ModelShape& s, const std::string& name, QuantMix mix) {
  using gguf::Value;
  auto u32 = [](int64_t v) { return Value::of_u32(static_cast<uint32_t>(v)); };
  const std::string p = s.arch + ".";
  w.set("general.architecture", Value::of_string(s.arch));
  w.set("general.type", Value::of_string("model"));
  w.set("general.name", Value::of_string(name));
  w.set(p + "block_count", u32(s.n_layer));
  w.set(p + "context_length", u32(s.n_ctx));
  w.set(p + "embedding_length", u32(s.n_embd));
  w.set(p + "feed_forward_length", u32(s.n_ff));
  w.set(p + "attention.head_count", u32(s.n_head));
  w.set(p + "attention.head_count_kv", u32(s.n_head_kv));
  w.set(p + "rope.freq_base", Value::of_f32(s.rope_base));
  w.set(p + "attention.layer_norm_rms_epsilon", Value::of_f32(s.norm_eps));
  if (s.head_size() * s.n_head != s.n_embd) {
    w.set(p + "attention.key_length", u32(s.head_size()));
    w.set(p + "attention.value_length", u32(s.head_size()));
  }
  w.set("general.file_type", Value::of_u32(quant_mix_info(mix).file_type));
  w.set(p + "vocab_size", u32(s.n_vocab));
  w.set(p + "rope.dimension_count", u32(s.head_size()));
}

// A minimal SentencePiece ("llama") vocabulary: <unk> <s> </s>, the 256 byte tokens, then
// placeholder words "▁w<id>". Enough for llama.cpp to load the file and for token-id prompts;
// text in, text out works through the byte tokens.
void set_minimal_vocab(gguf::Writer& w, int64_t n_vocab) {
  using gguf::Value;
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens.reserve(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) {
    // token types: 1 normal, 2 unknown, 3 control, 6 byte
    if (i < 3) {
      tokens.emplace_back(i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
      types.push_back(i == 0 ? 2 : 3);
    } else if (i < 259) {
      tokens.push_back(fmt::format("<0x{:02X}>", i - 3));
      types.push_back(6);
    } else {
      tokens.push_back(fmt::format("\xE2\x96\x81w{}", i));
      types.push_back(1);
    }
    scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
  }
  w.set("tokenizer.ggml.model", Value::of_string("llama"));
  w.set("tokenizer.ggml.pre", Value::of_string("default"));
  w.set("tokenizer.ggml.tokens", Value::of_strings(std::move(tokens)));
  w.set("tokenizer.ggml.scores", Value::of_f32s(std::move(scores)));
  w.set("tokenizer.ggml.token_type", Value::of_i32s(std::move(types)));
  w.set("tokenizer.ggml.bos_token_id", Value::of_u32(1));
  w.set("tokenizer.ggml.eos_token_id", Value::of_u32(2));
  w.set("tokenizer.ggml.unknown_token_id", Value::of_u32(0));
  w.set("tokenizer.ggml.add_bos_token", Value::of_bool(true));
  w.set("tokenizer.ggml.add_eos_token", Value::of_bool(false));
}

}  // namespace

void ModelShape::validate() const {
  RS_CHECK(arch == "llama" || arch == "qwen2",
           "--arch '{}' is not one make-random writes (llama, qwen2)", arch);
  auto positive = [](int64_t v, int64_t max, const char* flag) {
    RS_CHECK(v > 0 && v <= max, "{} must be between 1 and {} (got {})", flag, max, v);
  };
  positive(n_vocab, int64_t{1} << 24, "--n-vocab");
  positive(n_embd, int64_t{1} << 16, "--n-embd");
  positive(n_layer, 1024, "--n-layer");
  positive(n_head, 1024, "--n-head");
  positive(n_head_kv, 1024, "--n-head-kv");
  positive(n_ff, int64_t{1} << 18, "--n-ff");
  positive(n_ctx, int64_t{1} << 24, "--n-ctx");
  RS_CHECK(n_head % n_head_kv == 0, "--n-head {} is not a multiple of --n-head-kv {}", n_head,
           n_head_kv);
  RS_CHECK(head_dim > 0 || n_embd % n_head == 0,
           "--n-embd {} is not a multiple of --n-head {}; give --head-dim", n_embd, n_head);
  RS_CHECK(head_size() > 0 && head_size() <= 1024 && head_size() % 2 == 0,
           "the head size {} must be even and at most 1024", head_size());
  RS_CHECK(std::isfinite(rope_base) && rope_base > 0, "--rope-base must be positive");
  RS_CHECK(std::isfinite(norm_eps) && norm_eps > 0, "--norm-eps must be positive");
}

uint64_t ModelShape::n_params() const {
  const auto E = static_cast<uint64_t>(n_embd), V = static_cast<uint64_t>(n_vocab);
  const auto q = static_cast<uint64_t>(n_head * head_size()),
             kv = static_cast<uint64_t>(n_head_kv * head_size());
  uint64_t layer = E * q + 2 * E * kv + q * E + 3 * E * static_cast<uint64_t>(n_ff) + 2 * E;
  if (qkv_bias()) layer += q + 2 * kv;
  return V * E * (tied ? 1 : 2) + E + static_cast<uint64_t>(n_layer) * layer;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

std::optional<ModelShape> model_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (name == p.name) return p.shape;
  return std::nullopt;
}

WriteReport write_random_model(const std::string& path, const RandomModelOptions& opts) {
  const ModelShape& s = opts.shape;
  s.validate();
  RS_CHECK(std::isfinite(opts.weight_std) && opts.weight_std > 0 && opts.weight_std < 10,
           "--std must be in (0, 10), got {}", opts.weight_std);
  const int64_t E = s.n_embd, q = s.n_head * s.head_size(), kv = s.n_head_kv * s.head_size();

  // Tensor list in the order the converter writes a llama-family model.
  struct Spec {
    std::string name;
    std::vector<int64_t> ne;
    bool ones;  // norm weights
  };
  std::vector<Spec> specs;
  specs.push_back({"token_embd.weight", {E, s.n_vocab}, false});
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    specs.push_back({b + "attn_norm.weight", {E}, true});
    specs.push_back({b + "attn_q.weight", {E, q}, false});
    if (s.qkv_bias()) specs.push_back({b + "attn_q.bias", {q}, false});
    specs.push_back({b + "attn_k.weight", {E, kv}, false});
    if (s.qkv_bias()) specs.push_back({b + "attn_k.bias", {kv}, false});
    specs.push_back({b + "attn_v.weight", {E, kv}, false});
    if (s.qkv_bias()) specs.push_back({b + "attn_v.bias", {kv}, false});
    specs.push_back({b + "attn_output.weight", {q, E}, false});
    specs.push_back({b + "ffn_norm.weight", {E}, true});
    specs.push_back({b + "ffn_gate.weight", {E, s.n_ff}, false});
    specs.push_back({b + "ffn_up.weight", {E, s.n_ff}, false});
    specs.push_back({b + "ffn_down.weight", {s.n_ff, E}, false});
  }
  specs.push_back({"output_norm.weight", {E}, true});
  if (!s.tied) specs.push_back({"output.weight", {E, s.n_vocab}, false});

  std::vector<std::string> names;
  for (const auto& sp : specs) names.push_back(sp.name);
  const QuantModelInfo info = quant_model_info(names, s.n_layer, s.arch);

  std::vector<TensorJob> jobs;
  for (const auto& sp : specs) {
    TensorJob j;
    const TypeChoice c = choose_tensor_type(sp.name, sp.ne, DType::F32, opts.mix, opts.pure, info);
    j.plan = {sp.name, sp.ne, DType::F32, c.type, c.note, 0, 0};
    const int64_t n = sp.ne[0];
    if (sp.ones) {
      j.row_values = [n](int64_t, float* out) { std::fill(out, out + n, 1.0f); };
    } else {
      const uint64_t stream = SplitMix{opts.seed ^ fnv1a(sp.name)}.next();
      const float sd = opts.weight_std;
      j.row_values = [stream, sd, n](int64_t row, float* out) {
        gaussian_row(stream, row, sd, out, n);
      };
    }
    jobs.push_back(std::move(j));
  }

  gguf::Writer w;
  const std::string name = opts.name.empty() ? fmt::format("{} random {:.0f}M (seed {})", s.arch,
                                                           s.n_params() / 1e6, opts.seed)
                                             : opts.name;
  set_metadata(w, s, name, opts.mix);
  if (opts.vocab && s.n_vocab >= 259) set_minimal_vocab(w, s.n_vocab);
  w.set("general.quantization_version", gguf::Value::of_u32(2));
  return write_converted(w, std::move(jobs), path, opts.n_threads, opts.progress);
}

}  // namespace rs
