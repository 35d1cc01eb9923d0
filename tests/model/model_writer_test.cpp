// Random-model writer and quantizer. The quantizer is checked against llama-quantize's own output
// (shared/oracle/models/llama-spm-*.gguf, an independent reference): for Q8_0, Q4_0, Q6_K and the
// Q4_K_M mix, every tensor must get llama.cpp's type and exactly its bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/gguf.h"
#include "model/model.h"
#include "model/model_writer.h"
#include "model/quantize.h"
#include "test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            (std::string("rs_model_writer_") + info->name() + "_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

ModelShape tiny_shape() {
  return *model_preset("tiny");
}

std::string slurp(const std::string& path) {
  return test::read_file(path);
}

TEST(ModelWriter, TinyRandomModelLoadsAndRuns) {
  TempDir dir;
  for (QuantMix mix :
       {QuantMix::F32, QuantMix::F16, QuantMix::Q8_0, QuantMix::Q4_0, QuantMix::Q4_K_M}) {
    SCOPED_TRACE(std::string(quant_mix_info(mix).name));
    RandomModelOptions o;
    o.shape = tiny_shape();
    o.mix = mix;
    o.n_threads = 2;
    const std::string path = dir.file(std::string(quant_mix_info(mix).name) + ".gguf");
    const WriteReport r = write_random_model(path, o);
    EXPECT_EQ(r.file_bytes, fs::file_size(path));

    auto model = Model::load(path);
    EXPECT_EQ(model->hparams().n_vocab, 512);
    EXPECT_EQ(model->hparams().n_layer, 2);
    KVCache cache(model->hparams(), 16);
    ThreadPool pool(2);
    Vec logits;
    const std::vector<int32_t> prompt = {1, 17, 300, 511};
    model->forward(prompt, cache, &pool, logits);
    ASSERT_EQ(logits.size(), 512u);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    const int32_t next = 5;
    model->forward({&next, 1}, cache, &pool, logits);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(ModelWriter, MetadataAndTypesFollowLlamaCpp) {
  TempDir dir;
  RandomModelOptions o;
  o.shape = tiny_shape();
  o.shape.arch = "qwen2";
  o.mix = QuantMix::Q4_K_M;
  const std::string path = dir.file("m.gguf");
  write_random_model(path, o);
  auto f = gguf::File::open(path);
  EXPECT_EQ(f->get_string("general.architecture"), "qwen2");
  EXPECT_EQ(f->get_uint("general.file_type"), 15u);
  EXPECT_EQ(f->get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(f->get_uint("qwen2.block_count"), 2u);
  EXPECT_EQ(f->get_uint("qwen2.embedding_length"), 256u);
  EXPECT_EQ(f->get_uint("qwen2.attention.head_count_kv"), 2u);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
  ASSERT_NE(f->get_strings("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(f->get_strings("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_EQ(f->tensor("output.weight"), nullptr);  // tied
  // Tied embedding = output: Q6_K; 2 layers: layer 1 is a use_more_bits layer.
  EXPECT_EQ(f->tensor("token_embd.weight")->type, DType::Q6_K);
  EXPECT_EQ(f->tensor("blk.0.attn_v.weight")->type, DType::Q4_K);
  EXPECT_EQ(f->tensor("blk.1.attn_v.weight")->type, DType::Q6_K);
  EXPECT_EQ(f->tensor("blk.1.ffn_down.weight")->type, DType::Q6_K);
  EXPECT_EQ(f->tensor("blk.1.ffn_up.weight")->type, DType::Q4_K);
  EXPECT_EQ(f->tensor("blk.0.attn_q.bias")->type, DType::F32);
  EXPECT_EQ(f->tensor("blk.0.attn_norm.weight")->type, DType::F32);
  // Norm weights are exactly 1.
  const auto* norm = f->tensor("output_norm.weight");
  const auto* v = reinterpret_cast<const float*>(norm->data);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(v[i], 1.0f);
  auto model = Model::load(path);  // qwen2 with biases binds
  EXPECT_FALSE(model->hparams().arch == nullptr);
}

TEST(ModelWriter, DeterministicWhateverTheThreadCount) {
  TempDir dir;
  RandomModelOptions o;
  o.shape = tiny_shape();
  o.mix = QuantMix::Q4_0;
  o.seed = 7;
  o.n_threads = 1;
  write_random_model(dir.file("a.gguf"), o);
  o.n_threads = 2;
  write_random_model(dir.file("b.gguf"), o);
  o.seed = 8;
  write_random_model(dir.file("c.gguf"), o);
  EXPECT_EQ(slurp(dir.file("a.gguf")), slurp(dir.file("b.gguf")));
  EXPECT_NE(slurp(dir.file("a.gguf")), slurp(dir.file("c.gguf")));
}

TEST(ModelWriter, GaussianWeightsHaveTheRequestedSpread) {
  TempDir dir;
  RandomModelOptions o;
  o.shape = tiny_shape();
  o.weight_std = 0.05f;
  write_random_model(dir.file("f32.gguf"), o);
  auto f = gguf::File::open(dir.file("f32.gguf"));
  const auto* t = f->tensor("blk.0.ffn_up.weight");
  const auto* v = reinterpret_cast<const float*>(t->data);
  const int64_t n = t->n_elements();
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < n; ++i) sum += v[i], sq += static_cast<double>(v[i]) * v[i];
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(sd, 0.05, 0.001);
}

TEST(ModelWriter, ProgressReachesTheTotal) {
  TempDir dir;
  RandomModelOptions o;
  o.shape = tiny_shape();
  o.mix = QuantMix::Q8_0;
  uint64_t last = 0, total = 0;
  int calls = 0;
  o.progress = [&](uint64_t done, uint64_t t, const std::string&) {
    EXPECT_GE(done, last);
    last = done;
    total = t;
    ++calls;
  };
  const WriteReport r = write_random_model(dir.file("p.gguf"), o);
  EXPECT_GT(calls, 10);
  EXPECT_EQ(last, total);
  EXPECT_EQ(total, r.tensor_bytes);
}

TEST(ModelWriter, RejectsBadShapes) {
  TempDir dir;
  RandomModelOptions o;
  o.shape = tiny_shape();
  o.shape.n_head_kv = 3;  // 4 heads are not a multiple of 3
  EXPECT_THROW(write_random_model(dir.file("x.gguf"), o), Error);
  o.shape = tiny_shape();
  o.shape.arch = "mamba";
  EXPECT_THROW(write_random_model(dir.file("x.gguf"), o), Error);
  EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
  EXPECT_FALSE(model_preset("nope"));
}

TEST(ModelWriter, PresetsHaveThePerfAnchorShapes) {
  const ModelShape s = *model_preset("smollm2-135m");
  EXPECT_EQ(s.n_vocab, 50257);
  EXPECT_EQ(s.n_embd, 576);
  EXPECT_EQ(s.n_layer, 30);
  EXPECT_EQ(s.n_head, 9);
  EXPECT_EQ(s.n_head_kv, 3);
  EXPECT_EQ(s.head_size(), 64);
  EXPECT_EQ(s.n_ff, 1536);
  EXPECT_TRUE(s.tied);
  EXPECT_NEAR(s.n_params() / 1e6, 135.2, 0.1);  // 134.5 M with the real 49,152 vocabulary
  const ModelShape l = *model_preset("llama3.2-1b");
  EXPECT_EQ(l.n_vocab, 32000);
  EXPECT_EQ(l.n_ff, 8192);
  const ModelShape q = *model_preset("qwen2.5-0.5b");
  EXPECT_EQ(q.arch, "qwen2");
  EXPECT_EQ(q.n_vocab, 151936);
  EXPECT_NEAR(q.n_params() / 1e6, 494.0, 1.0);  // Qwen2.5-0.5B has 494 M parameters
}

// --- quantize against llama-quantize's own files ---

void expect_same_tensors(const std::string& ours_path, const std::string& ref_path) {
  auto ours = gguf::File::open(ours_path);
  auto ref = gguf::File::open(ref_path);
  ASSERT_EQ(ours->tensors().size(), ref->tensors().size());
  for (const auto& r : ref->tensors()) {
    SCOPED_TRACE(r.name);
    const gguf::TensorInfo* o = ours->tensor(r.name);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(dtype_name(o->type), dtype_name(r.type));
    EXPECT_EQ(o->ne, r.ne);
    ASSERT_EQ(o->nbytes, r.nbytes);
    EXPECT_TRUE(std::equal(o->data, o->data + o->nbytes, r.data)) << "bytes differ";
  }
  EXPECT_EQ(ours->get_uint("general.file_type"), ref->get_uint("general.file_type"));
  EXPECT_EQ(ours->get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(ours->get_string("general.architecture"), ref->get_string("general.architecture"));
  ASSERT_NE(ours->get_strings("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(*ours->get_strings("tokenizer.ggml.tokens"),
            *ref->get_strings("tokenizer.ggml.tokens"));
}

class QuantizeOracle : public ::testing::TestWithParam<std::pair<QuantMix, const char*>> {};

TEST_P(QuantizeOracle, MatchesLlamaQuantize) {
  RS_REQUIRE_SHARED();
  TempDir dir;
  const auto models = test::shared_dir() / "oracle" / "models";
  const auto [mix, ref] = GetParam();
  QuantizeOptions o;
  o.mix = mix;
  o.n_threads = 2;
  const std::string out = dir.file("out.gguf");
  const WriteReport r = quantize_model((models / "llama-spm-f32.gguf").string(), out, o);
  EXPECT_EQ(r.tensors.size(), 21u);  // token_embd, output, output_norm, 2 x 9 per layer
  expect_same_tensors(out, (models / ref).string());
}

INSTANTIATE_TEST_SUITE_P(Mixes, QuantizeOracle,
                         ::testing::Values(std::pair{QuantMix::Q8_0, "llama-spm-q8_0.gguf"},
                                           std::pair{QuantMix::Q4_0, "llama-spm-q4_0.gguf"},
                                           std::pair{QuantMix::Q6_K, "llama-spm-q6_k.gguf"},
                                           std::pair{QuantMix::Q4_K_M, "llama-spm-q4_k_m.gguf"},
                                           std::pair{QuantMix::F16, "llama-spm-f16.gguf"}));

TEST(Quantize, QuantizedModelRunsAndQwenBiasesStayF32) {
  RS_REQUIRE_SHARED();
  TempDir dir;
  const auto models = test::shared_dir() / "oracle" / "models";
  QuantizeOptions o;
  o.mix = QuantMix::Q8_0;
  quantize_model((models / "qwen2-f32.gguf").string(), dir.file("q.gguf"), o);
  auto ours = gguf::File::open(dir.file("q.gguf"));
  auto ref = gguf::File::open((models / "qwen2-q8_0.gguf").string());
  for (const auto& t : ref->tensors()) {
    SCOPED_TRACE(t.name);
    ASSERT_NE(ours->tensor(t.name), nullptr);
    EXPECT_EQ(ours->tensor(t.name)->type, t.type);
  }
  auto model = Model::load(dir.file("q.gguf"));
  KVCache cache(model->hparams(), 8);
  Vec logits;
  const std::vector<int32_t> ids = {1, 2, 3};
  model->forward(ids, cache, nullptr, logits);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(Quantize, RefusesToRequantizeUnlessAllowed) {
  RS_REQUIRE_SHARED();
  TempDir dir;
  const auto q8 = (test::shared_dir() / "oracle" / "models" / "llama-spm-q8_0.gguf").string();
  QuantizeOptions o;
  o.mix = QuantMix::Q4_0;
  try {
    quantize_model(q8, dir.file("r.gguf"), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--allow-requantize"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("r.gguf")));
  EXPECT_FALSE(fs::exists(dir.file("r.gguf.tmp")));
  o.allow_requantize = true;
  quantize_model(q8, dir.file("r.gguf"), o);
  auto f = gguf::File::open(dir.file("r.gguf"));
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight")->type, DType::Q4_0);
  // Same type in and out: copied, no requantization needed.
  o.allow_requantize = false;
  o.mix = QuantMix::Q8_0;
  quantize_model(q8, dir.file("same.gguf"), o);
}

TEST(Quantize, MissingInputIsAnError) {
  TempDir dir;
  QuantizeOptions o;
  EXPECT_THROW(quantize_model(dir.file("none.gguf"), dir.file("out.gguf"), o), Error);
}

TEST(Quantize, RandomF32ThenQuantizeEqualsDirectRandomQuantized) {
  // make-random --type X must give the same bytes as make-random f32 + quantize X.
  TempDir dir;
  RandomModelOptions ro;
  ro.shape = tiny_shape();
  ro.mix = QuantMix::F32;
  write_random_model(dir.file("f32.gguf"), ro);
  ro.mix = QuantMix::Q4_K_M;
  write_random_model(dir.file("direct.gguf"), ro);
  QuantizeOptions qo;
  qo.mix = QuantMix::Q4_K_M;
  quantize_model(dir.file("f32.gguf"), dir.file("via.gguf"), qo);
  auto a = gguf::File::open(dir.file("direct.gguf"));
  auto b = gguf::File::open(dir.file("via.gguf"));
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const auto& t : a->tensors()) {
    SCOPED_TRACE(t.name);
    const auto* u = b->tensor(t.name);
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(t.type, u->type);
    ASSERT_EQ(t.nbytes, u->nbytes);
    EXPECT_TRUE(std::equal(t.data, t.data + t.nbytes, u->data));
  }
}

}  // namespace
}  // namespace rs
