// LoRA at run time: the synthetic PEFT adapter in shared/ reproduces its recorded greedy text
// (computed independently with the adapter merged in float64), merged weights give the logits
// of the unmerged adapter, PEFT and GGUF LoRA files of the same adapter agree across q/k row
// orders, and a batch that mixes adapters gives each sequence exactly what it gets alone.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/thread_pool.h"
#include "engine/adapters.h"
#include "engine/generate.h"
#include "engine/lora_merge.h"
#include "formats/lora_adapter.h"
#include "model/lora.h"
#include "test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;

fs::path models() {
  return test::shared_dir() / "models";
}
std::string gguf_base() {
  return (models() / "stories260K.gguf").string();
}
std::string hf_base() {
  return (models() / "stories260K-hf").string();
}
std::string synthetic() {
  return (models() / "lora" / "stories260K-synthetic-qv-r4").string();
}

// The line after `heading` in EXPECTED.md.
std::string expected_line(const std::string& heading) {
  const std::string text = test::read_file(fs::path(synthetic()) / "EXPECTED.md");
  const size_t at = text.find(heading);
  EXPECT_NE(at, std::string::npos) << heading;
  const size_t start = text.find('\n', at) + 1;
  return text.substr(start, text.find('\n', start) - start);
}

std::string greedy(const LoadedModel& lm, ThreadPool& pool) {
  GenerateOptions o;
  o.n_predict = 60;
  o.sampling.temperature = 0;
  const std::vector<int32_t> bos = {1};
  std::string text = generate(lm, bos, o, &pool).text;
  if (!text.empty() && text[0] == ' ') text.erase(0, 1);
  return text;
}

TEST(Lora, SyntheticAdapterReproducesRecordedOutput) {
  RS_REQUIRE_SHARED();
  ThreadPool pool(2);
  const std::string merged = expected_line("With adapter merged");
  const std::string base = expected_line("Base output:");
  ASSERT_NE(merged, base);
  for (const std::string& path : {gguf_base(), hf_base()}) {
    LoadedModel lm = load_model(path, gguf_base(), synthetic());
    EXPECT_EQ(greedy(lm, pool), merged) << path;
    lm.lora.reset();
    EXPECT_EQ(greedy(lm, pool), base) << path;
  }
}

// A random adapter on every target of every layer, in PEFT's (Hugging Face) row order.
lora::Adapter random_adapter(const HParams& hp, uint64_t seed, float b_scale) {
  lora::Adapter ad;
  ad.format = lora::Format::Peft;
  ad.source = "random";
  ad.rank = 3;
  ad.alpha = 6;
  std::mt19937_64 rng(seed);
  auto uni = [&] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5); };
  for (int64_t l = 0; l < hp.n_layer; ++l)
    for (int t = 0; t < lora::kNumTargets; ++t) {
      lora::Pair p;
      p.layer = l;
      p.target = static_cast<lora::Target>(t);
      p.rank = 3;
      p.scale = 2;
      const bool attn_in = p.target == lora::Target::O, ffn_in = p.target == lora::Target::Down;
      const bool ffn_out = p.target == lora::Target::Gate || p.target == lora::Target::Up;
      p.n_in = attn_in ? hp.n_embd_q() : ffn_in ? hp.n_ff : hp.n_embd;
      p.n_out = p.target == lora::Target::Q                                    ? hp.n_embd_q()
                : (p.target == lora::Target::K || p.target == lora::Target::V) ? hp.n_embd_kv()
                : ffn_out                                                      ? hp.n_ff
                                                                               : hp.n_embd;
      for (int64_t i = 0; i < p.rank * p.n_in; ++i) p.a.push_back(uni());
      for (int64_t i = 0; i < p.n_out * p.rank; ++i) p.b.push_back(uni() * b_scale);
      ad.pairs.push_back(std::move(p));
    }
  for (int t = 0; t < lora::kNumTargets; ++t) ad.targets.push_back(static_cast<lora::Target>(t));
  return ad;
}

double max_diff(const Vec& a, const Vec& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

Vec all_logits(const Model& m, const std::vector<int32_t>& toks, const LoraAdapter* ad,
               ThreadPool& pool) {
  KVCache cache(m.hparams(), 64);
  Vec out;
  m.forward(toks, cache, &pool, out, true, ad);
  return out;
}

const std::vector<int32_t> kTokens = {1, 403, 407, 261, 378, 300, 42, 7, 99, 250, 13, 488};

TEST(Lora, MergedWeightsGiveUnmergedLogits) {
  RS_REQUIRE_SHARED();
  ThreadPool pool(2);
  auto base = Model::load(gguf_base());
  const fs::path dir = fs::temp_directory_path() / "rs_lora_merge_test";
  fs::create_directories(dir);
  // Through the PEFT writer and reader, so the saved layout is part of what is checked.
  lora::save_peft(random_adapter(base->hparams(), 1, 0.05f), (dir / "peft").string());
  for (const std::string& adapter : {synthetic(), (dir / "peft").string()}) {
    auto ad = load_lora(*base, adapter);
    MergeOptions mo;
    mo.type = MergeType::F32;
    merge_lora(*base, *ad, (dir / "merged.gguf").string(), mo);
    auto merged = Model::load((dir / "merged.gguf").string());
    const Vec unmerged = all_logits(*base, kTokens, ad.get(), pool);
    const Vec via_merge = all_logits(*merged, kTokens, nullptr, pool);
    const double d = max_diff(unmerged, via_merge);
    const double effect = max_diff(unmerged, all_logits(*base, kTokens, nullptr, pool));
    std::printf("%s: max |merged - unmerged logit| = %.3g (adapter changes logits by up to %.3g)\n",
                adapter.c_str(), d, effect);
    EXPECT_LT(d, 2e-5);
    EXPECT_GT(effect, 0.1);  // the adapter matters, so the comparison can fail
  }
  fs::remove_all(dir);
}

TEST(Lora, PeftAndGgufLoraAgreeAcrossRowOrders) {
  RS_REQUIRE_SHARED();
  ThreadPool pool(2);
  auto gguf_model = Model::load(gguf_base());
  auto hf_model = Model::load(hf_base());
  const HParams& hp = gguf_model->hparams();
  const lora::Adapter peft = random_adapter(hp, 2, 0.05f);
  // The same adapter as llama.cpp's converter would write it: q/k rows of B in GGUF order.
  lora::Adapter g = peft;
  g.format = lora::Format::Gguf;
  g.architecture = "llama";
  for (auto& p : g.pairs)
    if (p.target == lora::Target::Q || p.target == lora::Target::K)
      permute_qk_rows(p.b, p.target == lora::Target::Q ? hp.n_head : hp.n_head_kv, hp.head_dim,
                      p.rank, true);
  const auto path = (fs::temp_directory_path() / "rs_lora_test.gguf").string();
  lora::save_gguf_lora(g, path);
  const lora::Adapter reread = lora::load_adapter(path);
  EXPECT_EQ(reread.pairs.size(), peft.pairs.size());
  EXPECT_FLOAT_EQ(reread.pairs[0].scale, 2.0f);
  // Four combinations: PEFT or GGUF LoRA, on the GGUF or the HF model; all the same function.
  const Vec ref = all_logits(*gguf_model, kTokens,
                             LoraAdapter::bind(peft, hp, gguf_model->source()).get(), pool);
  for (const Model* m : {gguf_model.get(), hf_model.get()})
    for (const lora::Adapter* a : {&peft, &reread}) {
      const double d = max_diff(
          ref,
          all_logits(*m, kTokens, LoraAdapter::bind(*a, m->hparams(), m->source()).get(), pool));
      EXPECT_LT(d, 1e-4);
    }
  fs::remove(path);
}

TEST(Lora, BatchMixingAdaptersMatchesEachAlone) {
  RS_REQUIRE_SHARED();
  ThreadPool pool(2);
  auto model = Model::load(gguf_base());
  const HParams& hp = model->hparams();
  auto a1 = LoraAdapter::bind(random_adapter(hp, 3, 0.05f), hp, model->source());
  auto a2 = load_lora(*model, synthetic());
  const std::vector<int32_t> t1 = {1, 403, 407, 261}, t2 = {1, 300, 42, 7, 99, 250},
                             t3 = {1, 13, 488};
  const std::vector<std::pair<const std::vector<int32_t>*, const LoraAdapter*>> seqs = {
      {&t1, a1.get()},
      {&t2, nullptr},
      {&t3, a2.get()},
  };
  std::vector<KVCache> caches;
  for (size_t i = 0; i < seqs.size(); ++i) caches.emplace_back(hp, 32);
  std::vector<SeqBatch> batch;
  for (size_t i = 0; i < seqs.size(); ++i)
    batch.push_back({*seqs[i].first, &caches[i], SeqBatch::Logits::All, seqs[i].second});
  Vec together;
  model->forward_batch(batch, &pool, together);
  size_t row = 0;
  for (const auto& [toks, ad] : seqs) {
    const Vec alone = all_logits(*model, *toks, ad, pool);
    const Vec part(together.begin() + static_cast<long>(row),
                   together.begin() + static_cast<long>(row + alone.size()));
    EXPECT_EQ(part, alone);  // bit for bit
    row += alone.size();
  }
  // And the adapters do differ from the base on those rows.
  EXPECT_GT(max_diff(all_logits(*model, t1, a1.get(), pool), all_logits(*model, t1, nullptr, pool)),
            0.1);
}

TEST(Lora, RegistryHotLoadsAndKeepsOldAdapterOnError) {
  RS_REQUIRE_SHARED();
  auto model = Model::load(gguf_base());
  AdapterRegistry reg(*model);
  auto first = reg.load("qv", synthetic());
  EXPECT_EQ(reg.get("qv"), first);
  EXPECT_THROW(reg.load("qv", "/nonexistent/adapter"), Error);
  EXPECT_EQ(reg.get("qv"), first);  // the failed reload left it in place
  auto held = reg.get("qv");
  EXPECT_TRUE(reg.unload("qv"));
  EXPECT_FALSE(reg.unload("qv"));
  EXPECT_EQ(reg.get("qv"), nullptr);
  EXPECT_NE(held->get(0, lora::Target::Q), nullptr);  // a request holding it still can use it
  EXPECT_EQ(reg.names().size(), 0u);
}

}  // namespace
}  // namespace rs
