#include "formats/lora_adapter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"
#include "core/half.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"

namespace rs::lora {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TargetNames {
  const char* module;
  const char* path;
  const char* gguf;
};
constexpr TargetNames kNames[kNumTargets] = {
    {"q_proj", "self_attn.q_proj", "attn_q"},   {"k_proj", "self_attn.k_proj", "attn_k"},
    {"v_proj", "self_attn.v_proj", "attn_v"},   {"o_proj", "self_attn.o_proj", "attn_output"},
    {"gate_proj", "mlp.gate_proj", "ffn_gate"}, {"up_proj", "mlp.up_proj", "ffn_up"},
    {"down_proj", "mlp.down_proj", "ffn_down"},
};

std::string all_modules() {
  std::string s;
  for (const auto& n : kNames) s += std::string(s.empty() ? "" : ", ") + n.module;
  return s;
}

// A-or-B half of a pair while the file is being read.
struct Half {
  int64_t rows = 0, cols = 0;  // PyTorch shape [rows, cols]
  std::vector<float> values;
};
struct PendingPair {
  std::optional<Half> a, b;
};

// Builds the sorted pair list from A/B halves keyed by (layer, target), checking shapes.
std::vector<Pair> make_pairs(std::map<std::pair<int64_t, int>, PendingPair>& pending,
                             const std::string& where, std::optional<int64_t> rank) {
  std::vector<Pair> pairs;
  for (auto& [key, pp] : pending) {
    const std::string what = fmt::format("layer {} {}", key.first, kNames[key.second].module);
    RS_CHECK(pp.a && pp.b, "{}: {} has lora_{} but no lora_{}", where, what, pp.a ? "A" : "B",
             pp.a ? "B" : "A");
    Pair p;
    p.layer = key.first;
    p.target = static_cast<Target>(key.second);
    p.rank = pp.a->rows;
    p.n_in = pp.a->cols;
    p.n_out = pp.b->rows;
    RS_CHECK(p.rank > 0 && pp.b->cols == p.rank,
             "{}: {}: lora_A is [{}, {}] and lora_B is [{}, {}]; expected A [r, n_in] and B "
             "[n_out, r] with the same r",
             where, what, pp.a->rows, pp.a->cols, pp.b->rows, pp.b->cols);
    RS_CHECK(!rank || p.rank == *rank, "{}: {} has rank {} but the config says r = {}", where, what,
             p.rank, *rank);
    p.a = std::move(pp.a->values);
    p.b = std::move(pp.b->values);
    pairs.push_back(std::move(p));
  }
  RS_CHECK(!pairs.empty(), "{}: the adapter has no LoRA tensors", where);
  return pairs;
}

void finish(Adapter& ad) {
  std::vector<bool> seen(kNumTargets, false);
  for (const Pair& p : ad.pairs) seen[static_cast<int>(p.target)] = true;
  ad.targets.clear();
  for (int t = 0; t < kNumTargets; ++t)
    if (seen[t]) ad.targets.push_back(static_cast<Target>(t));
}

std::vector<float> to_f32(const safetensors::Tensor& t, const std::string& where) {
  const int64_t n = t.n_elements();
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case safetensors::DType::F32: {
        float f;
        std::memcpy(&f, t.data + 4 * i, 4);
        v[i] = f;
        break;
      }
      case safetensors::DType::F16:
      case safetensors::DType::BF16: {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        v[i] = t.dtype == safetensors::DType::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
        break;
      }
      default:
        fail("{}: tensor '{}' has dtype {}; LoRA tensors must be F32, F16 or BF16", where, t.name,
             safetensors::dtype_name(t.dtype));
    }
  }
  return v;
}

json read_config(const fs::path& p) {
  std::ifstream in(p);
  RS_CHECK(in.good(), "'{}' not found: a PEFT adapter folder needs adapter_config.json",
           p.string());
  json j = json::parse(in, nullptr, false);
  RS_CHECK(!j.is_discarded() && j.is_object(), "'{}' is not a JSON object", p.string());
  return j;
}

}  // namespace

std::string_view hf_module(Target t) {
  return kNames[static_cast<int>(t)].module;
}
std::string_view hf_path(Target t) {
  return kNames[static_cast<int>(t)].path;
}
std::string_view gguf_weight(Target t) {
  return kNames[static_cast<int>(t)].gguf;
}

std::optional<Target> target_from_hf(std::string_view module) {
  for (int t = 0; t < kNumTargets; ++t)
    if (module == kNames[t].module) return static_cast<Target>(t);
  return std::nullopt;
}

std::vector<Target> parse_targets(std::string_view list) {
  std::vector<Target> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, comma - start);
    const auto t = target_from_hf(name);
    RS_CHECK(t, "unknown LoRA target '{}' (known: {})", name, all_modules());
    if (std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

const Pair* Adapter::find(int64_t layer, Target t) const {
  for (const Pair& p : pairs)
    if (p.layer == layer && p.target == t) return &p;
  return nullptr;
}

double peft_scale(double alpha, int64_t rank, bool use_rslora) {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank))
                    : alpha / static_cast<double>(rank);
}

Adapter load_peft(const std::string& dir_in) {
  fs::path dir(dir_in);
  if (!fs::is_directory(dir)) dir = dir.parent_path();
  const std::string where = dir.string();
  const json cfg = read_config(dir / "adapter_config.json");
  auto str = [&](const char* k, const std::string& def) {
    return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : def;
  };
  auto flag = [&](const char* k) {
    return cfg.contains(k) && cfg[k].is_boolean() && cfg[k].get<bool>();
  };
  const std::string type = str("peft_type", "LORA");
  RS_CHECK(type == "LORA", "{}: peft_type is '{}'; only LORA adapters are supported", where, type);
  RS_CHECK(!flag("use_dora"), "{}: DoRA adapters (use_dora) are not supported", where);
  RS_CHECK(!flag("fan_in_fan_out"),
           "{}: fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported", where);
  RS_CHECK(str("bias", "none") == "none", "{}: bias = '{}' is not supported (only \"none\")", where,
           str("bias", ""));
  for (const char* k : {"rank_pattern", "alpha_pattern"})
    RS_CHECK(!cfg.contains(k) || cfg[k].is_null() || cfg[k].empty(),
             "{}: per-module {} is not supported", where, k);
  RS_CHECK(cfg.contains("r") && cfg["r"].is_number_integer() && cfg["r"].get<int64_t>() > 0,
           "{}: adapter_config.json needs a positive integer 'r'", where);
  Adapter ad;
  ad.format = Format::Peft;
  ad.source = where;
  ad.rank = cfg["r"].get<int64_t>();
  ad.alpha = cfg.contains("lora_alpha") && cfg["lora_alpha"].is_number()
                 ? cfg["lora_alpha"].get<double>()
                 : static_cast<double>(ad.rank);
  ad.use_rslora = flag("use_rslora");
  ad.base_model = str("base_model_name_or_path", "");
  const auto scale = static_cast<float>(peft_scale(ad.alpha, ad.rank, ad.use_rslora));

  const fs::path st = dir / "adapter_model.safetensors";
  RS_CHECK(fs::exists(st),
           "'{}' not found (adapter_model.bin from older PEFT versions is not "
           "supported; re-save with safe_serialization=True)",
           st.string());
  auto file = safetensors::File::open(st.string());
  // base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
  static const std::regex kName(
      R"((?:base_model\.model\.)?model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)\.weight)");
  std::map<std::pair<int64_t, int>, PendingPair> pending;
  for (const auto& t : file->tensors()) {
    std::smatch m;
    RS_CHECK(std::regex_match(t.name, m, kName),
             "{}: tensor '{}' is not a LoRA A/B weight of a layer projection ({}); embedding, "
             "lm_head and modules_to_save adapters are not supported",
             st.string(), t.name, all_modules());
    const auto target = target_from_hf(m[3].str());
    RS_CHECK(target && std::string(hf_path(*target)) == m[2].str() + "." + m[3].str(),
             "{}: tensor '{}' targets '{}', which rightsize cannot adapt (known: {})", st.string(),
             t.name, m[3].str(), all_modules());
    RS_CHECK(t.shape.size() == 2, "{}: tensor '{}' has {} dimensions, expected 2", st.string(),
             t.name, t.shape.size());
    Half h{t.shape[0], t.shape[1], to_f32(t, st.string())};
    auto& pp = pending[{std::stoll(m[1].str()), static_cast<int>(*target)}];
    (m[4] == "A" ? pp.a : pp.b) = std::move(h);
  }
  ad.pairs = make_pairs(pending, st.string(), ad.rank);
  for (Pair& p : ad.pairs) p.scale = scale;
  finish(ad);
  return ad;
}

Adapter load_gguf_lora(const std::string& path) {
  auto file = gguf::File::open(path);
  const std::string gtype = file->get_string("general.type").value_or("");
  RS_CHECK(gtype == "adapter",
           "{}: general.type is '{}', expected 'adapter' (is this a model, not a LoRA?)", path,
           gtype);
  const std::string atype = file->get_string("adapter.type").value_or("");
  RS_CHECK(atype == "lora", "{}: adapter.type is '{}', expected 'lora'", path, atype);
  Adapter ad;
  ad.format = Format::Gguf;
  ad.source = path;
  ad.architecture = file->get_string("general.architecture").value_or("");
  RS_CHECK(!ad.architecture.empty(), "{}: general.architecture is missing", path);
  ad.base_model = file->get_string("general.base_model.0.name").value_or("");
  ad.alpha = file->get_float("adapter.lora.alpha").value_or(0.0);
  static const std::regex kName(R"(blk\.(\d+)\.(\w+)\.weight\.lora_(a|b))");
  std::map<std::pair<int64_t, int>, PendingPair> pending;
  for (const auto& t : file->tensors()) {
    std::smatch m;
    if (t.name.ends_with("_norm.weight")) continue;  // llama.cpp ignores these too
    RS_CHECK(std::regex_match(t.name, m, kName),
             "{}: tensor '{}' is not a LoRA tensor "
             "(blk.N.<weight>.weight.lora_a / .lora_b)",
             path, t.name);
    int target = -1;
    for (int i = 0; i < kNumTargets; ++i)
      if (m[2] == kNames[i].gguf) target = i;
    RS_CHECK(target >= 0, "{}: tensor '{}' adapts '{}', which rightsize cannot adapt", path, t.name,
             m[2].str());
    RS_CHECK(t.ne.size() == 2, "{}: tensor '{}' has {} dimensions, expected 2", path, t.name,
             t.ne.size());
    RS_CHECK(t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16,
             "{}: tensor '{}' has type {}; LoRA tensors must be F32, F16 or BF16", path, t.name,
             dtype_name(t.type));
    Half h{t.ne[1], t.ne[0], std::vector<float>(static_cast<size_t>(t.ne[0] * t.ne[1]))};
    for (size_t i = 0; i < h.values.size(); ++i) {
      if (t.type == DType::F32) {
        std::memcpy(&h.values[i], t.data + 4 * i, 4);
      } else {
        uint16_t v;
        std::memcpy(&v, t.data + 2 * i, 2);
        h.values[i] = t.type == DType::F16 ? fp16_to_fp32(v) : bf16_to_fp32(v);
      }
    }
    auto& pp = pending[{std::stoll(m[1].str()), target}];
    (m[3] == "a" ? pp.a : pp.b) = std::move(h);
  }
  ad.pairs = make_pairs(pending, path, std::nullopt);
  for (Pair& p : ad.pairs) {
    ad.rank = std::max(ad.rank, p.rank);
    p.scale = ad.alpha == 0 ? 1.0f : static_cast<float>(ad.alpha / static_cast<double>(p.rank));
  }
  finish(ad);
  return ad;
}

Adapter load_adapter(const std::string& path) {
  std::error_code ec;
  RS_CHECK(fs::exists(path, ec), "adapter '{}' not found", path);
  if (fs::is_directory(path) || fs::path(path).extension() != ".gguf") return load_peft(path);
  return load_gguf_lora(path);
}

void save_peft(const Adapter& ad, const std::string& dir) {
  RS_CHECK(!ad.pairs.empty(), "cannot save an adapter without LoRA pairs");
  std::error_code ec;
  fs::create_directories(dir, ec);
  RS_CHECK(!ec, "cannot create '{}': {}", dir, ec.message());
  std::vector<safetensors::F32Tensor> tensors;
  std::vector<std::string> modules;
  for (const Pair& p : ad.pairs) {
    RS_CHECK(p.rank == ad.rank, "PEFT needs one rank for every pair (layer {} has {}, r = {})",
             p.layer, p.rank, ad.rank);
    const std::string base =
        fmt::format("base_model.model.model.layers.{}.{}", p.layer, hf_path(p.target));
    tensors.push_back({base + ".lora_A.weight", {p.rank, p.n_in}, p.a});
    tensors.push_back({base + ".lora_B.weight", {p.n_out, p.rank}, p.b});
  }
  for (Target t : ad.targets) modules.emplace_back(hf_module(t));
  json cfg = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"r", ad.rank},
      // An integral alpha is written as an integer, as PEFT's own configs have it.
      {"lora_alpha",
       ad.alpha == std::floor(ad.alpha) ? json(static_cast<int64_t>(ad.alpha)) : json(ad.alpha)},

      {"target_modules", modules},
      {"lora_dropout", 0.0},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", ad.use_rslora},
      {"use_dora", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"modules_to_save", nullptr},
      {"layers_to_transform", nullptr},
      {"base_model_name_or_path", ad.base_model},
  };
  safetensors::write_f32((fs::path(dir) / "adapter_model.safetensors").string(), tensors,
                         {{"format", "pt"}});
  const fs::path cfg_path = fs::path(dir) / "adapter_config.json";
  std::ofstream out(cfg_path);
  out << cfg.dump(2) << "\n";
  RS_CHECK(out.good(), "cannot write '{}'", cfg_path.string());
}

void save_gguf_lora(const Adapter& ad, const std::string& path) {
  RS_CHECK(!ad.pairs.empty(), "cannot save an adapter without LoRA pairs");
  RS_CHECK(!ad.architecture.empty(), "a GGUF LoRA needs the base model's architecture");
  // llama.cpp computes s = alpha / rank(pair), so alpha = s·rank must be one value for all pairs.
  const double alpha =
      static_cast<double>(ad.pairs[0].scale) * static_cast<double>(ad.pairs[0].rank);
  for (const Pair& p : ad.pairs)
    RS_CHECK(std::abs(static_cast<double>(p.scale) * static_cast<double>(p.rank) - alpha) <=
                 1e-6 * std::abs(alpha),
             "a GGUF LoRA has one alpha: the pairs' scale·rank differ");
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::of_string(ad.architecture));
  w.set("general.type", gguf::Value::of_string("adapter"));
  w.set("general.name", gguf::Value::of_string("rightsize LoRA"));
  if (!ad.base_model.empty())
    w.set("general.base_model.0.name", gguf::Value::of_string(ad.base_model));
  w.set("adapter.type", gguf::Value::of_string("lora"));
  w.set("adapter.lora.alpha", gguf::Value::of_f32(static_cast<float>(alpha)));
  auto bytes = [](const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
  };
  for (const Pair& p : ad.pairs) {
    const std::string base = fmt::format("blk.{}.{}.weight", p.layer, gguf_weight(p.target));
    w.add_tensor(base + ".lora_a", DType::F32, {p.n_in, p.rank}, bytes(p.a));
    w.add_tensor(base + ".lora_b", DType::F32, {p.rank, p.n_out}, bytes(p.b));
  }
  w.write(path);
}

}  // namespace rs::lora
