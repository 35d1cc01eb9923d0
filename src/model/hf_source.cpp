// Hugging Face folders (config.json + one or several *.safetensors) for the llama family, read in
// place: HF names map to GGUF names and [out, in] shapes to ne = [in, out]; nothing is converted.
//
// HF llama checkpoints store q/k rows permuted for the "rotate_half" RoPE (pairs (i, i+d/2)),
// while GGUF llama files store them un-permuted for interleaved pairs (2i, 2i+1). Instead of
// un-permuting the weights we rotate with RopeStyle::Halves, which is the same function of the
// stored weights.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors.h"
#include "model/tensor_source.h"

namespace rs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

DType to_dtype(safetensors::DType t, const std::string& name) {
  switch (t) {
    case safetensors::DType::F32: return DType::F32;
    case safetensors::DType::F16: return DType::F16;
    case safetensors::DType::BF16: return DType::BF16;
    default:
      fail("tensor '{}' has dtype {}, which rightsize cannot compute with (F32, F16, BF16)", name,
           safetensors::dtype_name(t));
  }
}

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; "" for tensors we ignore.
std::string gguf_name(const std::string& hf) {
  static const std::pair<const char*, const char*> kTop[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  for (const auto& [a, b] : kTop)
    if (hf == a) return b;
  static const std::regex kLayer(R"(model\.layers\.(\d+)\.(.+)\.(weight|bias))");
  static const std::pair<const char*, const char*> kBlk[] = {
      {"input_layernorm", "attn_norm"},       {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},         {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},    {"post_attention_layernorm", "ffn_norm"},
      {"mlp.gate_proj", "ffn_gate"},          {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  std::smatch m;
  if (!std::regex_match(hf, m, kLayer)) return "";
  for (const auto& [a, b] : kBlk)
    if (m[2] == a) return "blk." + m[1].str() + "." + b + "." + m[3].str();
  return "";
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  RS_CHECK(in.good(), "cannot open '{}'", p.string());
  json j = json::parse(in, nullptr, false);
  RS_CHECK(!j.is_discarded() && j.is_object(), "'{}' is not valid JSON", p.string());
  return j;
}

template <typename T>
T get_or(const json& j, const char* key, T def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    fail("config.json: '{}' has the wrong type", key);
  }
}

// Llama 3.1 "llama3" rope scaling as per-dimension divisors of θ (the same factors llama.cpp's
// converter stores in rope_freqs.weight).
std::vector<float> llama3_rope_factors(const json& rs, float base, int n_rot) {
  const double factor = get_or(rs, "factor", 8.0);
  const double low = get_or(rs, "low_freq_factor", 1.0);
  const double high = get_or(rs, "high_freq_factor", 4.0);
  const double orig = get_or(rs, "original_max_position_embeddings", 8192.0);
  const double low_wavelen = orig / low, high_wavelen = orig / high;
  std::vector<float> f;
  for (int i = 0; i < n_rot; i += 2) {
    const double freq = 1.0 / std::pow(base, static_cast<double>(i) / n_rot);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) f.push_back(1.0f);
    else if (wavelen > low_wavelen) f.push_back(static_cast<float>(factor));
    else {
      const double smooth = (orig / wavelen - low) / (high - low);
      f.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return f;
}

class HfSource : public TensorSource {
 public:
  explicit HfSource(const fs::path& dir) : dir_(dir) {
    const fs::path cfg_path = dir / "config.json";
    RS_CHECK(fs::exists(cfg_path), "'{}' has no config.json; a Hugging Face model folder needs one",
             dir.string());
    const json cfg = read_json(cfg_path);
    const std::string type = get_or<std::string>(cfg, "model_type", "");
    // The llama family: same tensors; qwen2 adds q/k/v biases (found by name below).
    static const std::set<std::string> kLlamaLike = {"llama", "mistral", "qwen2"};
    RS_CHECK(kLlamaLike.count(type), "{}: model_type '{}' is not supported for Hugging Face folders "
             "(supported: llama, mistral, qwen2); convert it to GGUF instead", cfg_path.string(), type);
    hparams_.arch = find_arch(type == "qwen2" ? "qwen2" : "llama");
    hparams_.n_embd = get_or<int64_t>(cfg, "hidden_size", 0);
    hparams_.n_ff = get_or<int64_t>(cfg, "intermediate_size", 0);
    hparams_.n_layer = get_or<int64_t>(cfg, "num_hidden_layers", 0);
    hparams_.n_head = get_or<int64_t>(cfg, "num_attention_heads", 0);
    hparams_.n_head_kv = get_or<int64_t>(cfg, "num_key_value_heads", hparams_.n_head);
    RS_CHECK(hparams_.n_head > 0, "{}: num_attention_heads is missing", cfg_path.string());
    hparams_.head_dim = get_or<int64_t>(cfg, "head_dim", hparams_.n_embd / hparams_.n_head);
    hparams_.head_dim_v = hparams_.head_dim;
    hparams_.n_rot = static_cast<int>(hparams_.head_dim);
    hparams_.n_ctx_train = get_or<int64_t>(cfg, "max_position_embeddings", 2048);
    hparams_.norm_eps = get_or(cfg, "rms_norm_eps", 1e-6f);
    hparams_.rope_base = get_or(cfg, "rope_theta", 10000.0f);
    hparams_.rope_style = kernels::RopeStyle::Halves;
    hparams_.sliding_window = 0;  // mistral's window is larger than any context we allocate
    hparams_.n_vocab = get_or<int64_t>(cfg, "vocab_size", 0);
    if (cfg.contains("rope_scaling") && cfg["rope_scaling"].is_object()) {
      const auto& rsj = cfg["rope_scaling"];
      const std::string kind = get_or<std::string>(rsj, "rope_type", get_or<std::string>(rsj, "type", ""));
      RS_CHECK(kind == "llama3" || kind == "default", "{}: rope_scaling type '{}' is not supported",
               cfg_path.string(), kind);
      if (kind == "llama3") rope_factors_ = llama3_rope_factors(rsj, hparams_.rope_base, hparams_.n_rot);
    }

    for (const auto& shard : shard_paths()) {
      files_.push_back(safetensors::File::open(shard.string()));
      for (const auto& t : files_.back()->tensors()) {
        const std::string name = gguf_name(t.name);
        if (name.empty()) continue;
        TensorRef r{name, to_dtype(t.dtype, t.name), {}, t.data, t.nbytes};
        RS_CHECK(!t.shape.empty() && t.shape.size() <= 2, "tensor '{}' has {} dimensions", t.name, t.shape.size());
        r.ne.assign(t.shape.rbegin(), t.shape.rend());  // [out, in] -> ne = [in, out]
        add(std::move(r));
      }
    }
    if (!rope_factors_.empty())
      add({"rope_freqs.weight", DType::F32, {static_cast<int64_t>(rope_factors_.size())},
           reinterpret_cast<const uint8_t*>(rope_factors_.data()), rope_factors_.size() * 4});
  }

  std::string describe() const override { return dir_.string(); }
  // The tensors of repacked matrices (model/repack_weights.cpp) are read no more: their pages of
  // the mapped shards go back to the page cache, so the resident set stays about the model's size.
  void release(const TensorRef& t) const override { release_mapped_pages(t.data, t.nbytes); }

 private:
  std::vector<fs::path> shard_paths() const {
    std::vector<fs::path> shards;
    const fs::path index = dir_ / "model.safetensors.index.json";
    if (fs::exists(index)) {
      const json j = read_json(index);
      RS_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), "'{}' has no weight_map", index.string());
      std::set<std::string> names;
      for (const auto& v : j["weight_map"]) {
        RS_CHECK(v.is_string(), "'{}': weight_map values must be file names", index.string());
        const std::string file = v.get<std::string>();
        RS_CHECK(file.find('/') == std::string::npos && file.find("..") == std::string::npos,
                 "'{}' names a shard outside the folder: {}", index.string(), file);
        names.insert(file);
      }
      for (const auto& n : names) shards.push_back(dir_ / n);
    } else {
      for (const auto& e : fs::directory_iterator(dir_))
        if (e.path().extension() == ".safetensors") shards.push_back(e.path());
      std::sort(shards.begin(), shards.end());
    }
    RS_CHECK(!shards.empty(), "'{}' has no *.safetensors files", dir_.string());
    return shards;
  }

  fs::path dir_;
  std::vector<std::unique_ptr<safetensors::File>> files_;
  std::vector<float> rope_factors_;
};

}  // namespace

std::unique_ptr<TensorSource> open_hf_folder(const std::string& dir) {
  return std::make_unique<HfSource>(fs::path(dir));
}

}  // namespace rs
