// LoRA adapter files: the shared synthetic PEFT adapter, PEFT and GGUF LoRA round trips (names,
// shapes, scales incl. rsLoRA), and clear errors for every kind of bad adapter.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/lora_adapter.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"
#include "test_util.h"

namespace rs::lora {
namespace {

namespace fs = std::filesystem;

fs::path tmp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rs_lora_fmt_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Adapter small_adapter(bool rslora) {
  Adapter ad;
  ad.rank = 2;
  ad.alpha = 8;
  ad.use_rslora = rslora;
  ad.architecture = "llama";
  ad.base_model = "tiny";
  for (int64_t l = 0; l < 2; ++l)
    for (Target t : {Target::Q, Target::Down}) {
      Pair p{l,  t, 2, t == Target::Down ? 6 : 4, 4, static_cast<float>(peft_scale(8, 2, rslora)),
             {}, {}};
      for (int64_t i = 0; i < p.rank * p.n_in; ++i) p.a.push_back(static_cast<float>(i) * 0.5f + l);
      for (int64_t i = 0; i < p.n_out * p.rank; ++i) p.b.push_back(static_cast<float>(i) - 3.0f);
      ad.pairs.push_back(p);
    }
  ad.targets = {Target::Q, Target::Down};
  return ad;
}

void expect_same_pairs(const Adapter& a, const Adapter& b) {
  ASSERT_EQ(a.pairs.size(), b.pairs.size());
  for (size_t i = 0; i < a.pairs.size(); ++i) {
    EXPECT_EQ(a.pairs[i].layer, b.pairs[i].layer);
    EXPECT_EQ(a.pairs[i].target, b.pairs[i].target);
    EXPECT_EQ(a.pairs[i].a, b.pairs[i].a);
    EXPECT_EQ(a.pairs[i].b, b.pairs[i].b);
    EXPECT_FLOAT_EQ(a.pairs[i].scale, b.pairs[i].scale);
  }
}

// The error message of f(), or "" when it does not throw rs::Error.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LoraAdapter, ReadsSharedSyntheticPeftAdapter) {
  RS_REQUIRE_SHARED();
  const Adapter ad =
      load_adapter((test::shared_dir() / "models/lora/stories260K-synthetic-qv-r4").string());
  EXPECT_EQ(ad.format, Format::Peft);
  EXPECT_EQ(ad.rank, 4);
  EXPECT_DOUBLE_EQ(ad.alpha, 8);
  EXPECT_EQ(ad.targets, (std::vector<Target>{Target::Q, Target::V}));
  ASSERT_EQ(ad.pairs.size(), 10u);  // 5 layers x q, v
  for (const Pair& p : ad.pairs) {
    EXPECT_EQ(p.n_in, 64);
    EXPECT_EQ(p.n_out, p.target == Target::Q ? 64 : 32);  // 4 kv heads of 8
    EXPECT_FLOAT_EQ(p.scale, 2.0f);
  }
}

TEST(LoraAdapter, PeftRoundTripWithPlainAndRsLoraScale) {
  for (bool rs : {false, true}) {
    const fs::path d = tmp_dir(rs ? "peft_rs" : "peft");
    save_peft(small_adapter(rs), d.string());
    const Adapter back = load_adapter(d.string());
    expect_same_pairs(small_adapter(rs), back);
    EXPECT_EQ(back.use_rslora, rs);
    EXPECT_FLOAT_EQ(back.pairs[0].scale, rs ? 8 / std::sqrt(2.0f) : 4.0f);
    // PEFT's tensor names and [r, n_in] / [n_out, r] shapes.
    auto st = safetensors::File::open((d / "adapter_model.safetensors").string());
    const auto* a = st->tensor("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 6}));
    const auto* b = st->tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->shape, (std::vector<int64_t>{4, 2}));
  }
}

TEST(LoraAdapter, GgufLoraRoundTripAndAlphaConvention) {
  const fs::path d = tmp_dir("gguf");
  Adapter ad = small_adapter(true);
  ad.format = Format::Gguf;
  save_gguf_lora(ad, (d / "a.gguf").string());
  const Adapter back = load_adapter((d / "a.gguf").string());
  EXPECT_EQ(back.format, Format::Gguf);
  EXPECT_EQ(back.architecture, "llama");
  expect_same_pairs(ad, back);  // rsLoRA's scale survives as alpha = s·r
  auto f = gguf::File::open((d / "a.gguf").string());
  const auto* a = f->tensor("blk.1.ffn_down.weight.lora_a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ne, (std::vector<int64_t>{6, 2}));  // ne = [n_in, r]
  const auto* b = f->tensor("blk.0.attn_q.weight.lora_b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ne, (std::vector<int64_t>{2, 4}));  // ne = [r, n_out]
  EXPECT_EQ(f->get_string("general.type"), "adapter");
  EXPECT_EQ(f->get_string("adapter.type"), "lora");
}

// Writes a PEFT folder from a config and tensors, for the error cases.
fs::path write_peft(const std::string& name, const std::string& config,
                    const std::vector<safetensors::F32Tensor>& tensors) {
  const fs::path d = tmp_dir(name);
  std::ofstream(d / "adapter_config.json") << config;
  if (!tensors.empty()) safetensors::write_f32((d / "adapter_model.safetensors").string(), tensors);
  return d;
}

const std::string kCfg = R"({"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["q_proj"]})";
safetensors::F32Tensor tA(const std::string& m, int64_t r, int64_t n) {
  return {"base_model.model.model.layers.0." + m + ".lora_A.weight",
          {r, n},
          std::vector<float>(r * n, 1)};
}
safetensors::F32Tensor tB(const std::string& m, int64_t n, int64_t r) {
  return {"base_model.model.model.layers.0." + m + ".lora_B.weight",
          {n, r},
          std::vector<float>(n * r, 1)};
}

TEST(LoraAdapter, BadAdaptersGiveClearErrors) {
  EXPECT_NE(error_of([] { load_adapter("/nonexistent/adapter"); }).find("not found"),
            std::string::npos);
  const fs::path no_config = tmp_dir("noconfig");
  EXPECT_NE(error_of([&] { load_adapter(no_config.string()); }).find("adapter_config.json"),
            std::string::npos);
  const fs::path no_weights = write_peft("noweights", kCfg, {});
  EXPECT_NE(error_of([&] { load_adapter(no_weights.string()); }).find("adapter_model.safetensors"),
            std::string::npos);
  const fs::path bad_json = write_peft("badjson", "{not json", {});
  EXPECT_NE(error_of([&] { load_adapter(bad_json.string()); }).find("not a JSON object"),
            std::string::npos);
  const auto q = "self_attn.q_proj";
  const fs::path dora =
      write_peft("dora", R"({"r":2,"lora_alpha":4,"use_dora":true})", {tA(q, 2, 4), tB(q, 4, 2)});
  EXPECT_NE(error_of([&] { load_adapter(dora.string()); }).find("DoRA"), std::string::npos);
  const fs::path rank = write_peft("rank", kCfg, {tA(q, 3, 4), tB(q, 4, 3)});
  EXPECT_NE(error_of([&] { load_adapter(rank.string()); }).find("r = 2"), std::string::npos);
  const fs::path shape = write_peft("shape", kCfg, {tA(q, 2, 4), tB(q, 4, 3)});
  EXPECT_NE(error_of([&] { load_adapter(shape.string()); }).find("same r"), std::string::npos);
  const fs::path unpaired = write_peft("unpaired", kCfg, {tA(q, 2, 4)});
  EXPECT_NE(error_of([&] { load_adapter(unpaired.string()); }).find("no lora_B"),
            std::string::npos);
  const fs::path module =
      write_peft("module", kCfg, {tA("self_attn.rotary", 2, 4), tB("self_attn.rotary", 4, 2)});
  EXPECT_NE(error_of([&] { load_adapter(module.string()); }).find("cannot adapt"),
            std::string::npos);
  const fs::path embed = write_peft(
      "embed", kCfg, {{"base_model.model.lm_head.lora_A.weight", {2, 4}, std::vector<float>(8)}});
  EXPECT_NE(error_of([&] { load_adapter(embed.string()); }).find("not supported"),
            std::string::npos);
  // A model file is not a LoRA.
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::of_string("llama"));
  const fs::path model = tmp_dir("model") / "m.gguf";
  w.write(model.string());
  EXPECT_NE(error_of([&] { load_adapter(model.string()); }).find("general.type"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_targets("q_proj,qq_proj"); }).find("qq_proj"), std::string::npos);
  EXPECT_EQ(parse_targets("v_proj,q_proj,v_proj"), (std::vector<Target>{Target::Q, Target::V}));
}

}  // namespace
}  // namespace rs::lora
