// run_bench on a tiny random model: the right number of samples, positive rates, skipped tests
// when -p or -n is 0, and the decode roofline's byte count (speed is not asserted here).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/thread_pool.h"
#include "engine/bench.h"
#include "model/model.h"
#include "model/model_writer.h"

namespace rs {
namespace {

std::string write_tiny(const std::string& name, bool tied) {
  const auto path = (std::filesystem::temp_directory_path() / name).string();
  RandomModelOptions o;
  o.shape = *model_preset("tiny");
  o.shape.tied = tied;
  o.mix = QuantMix::Q8_0;
  write_random_model(path, o);
  return path;
}

TEST(Bench, SamplesPerRepetition) {
  const std::string path = write_tiny("rs_bench_test_tied.gguf", true);
  auto model = Model::load(path);
  ThreadPool pool(2);
  BenchOptions o;
  o.n_prompt = 8;
  o.n_gen = 3;
  o.reps = 2;
  int steps = 0;
  const BenchResult r = run_bench(*model, pool, o, [&](const std::string&, int, int) { ++steps; });
  EXPECT_EQ(steps, 6);  // warm-up + 2 per test
  ASSERT_EQ(r.pp.tokens_per_s.size(), 2u);
  ASSERT_EQ(r.tg.tokens_per_s.size(), 2u);
  EXPECT_GT(r.pp.mean(), 0);
  EXPECT_GT(r.tg.mean(), 0);
  EXPECT_GE(r.tg.sd(), 0);
  o.n_prompt = 0;
  o.reps = 1;
  const BenchResult only_tg = run_bench(*model, pool, o);
  EXPECT_TRUE(only_tg.pp.empty());
  EXPECT_EQ(only_tg.tg.sd(), 0);
  // Tied output: every tensor byte is read per token.
  uint64_t all = 0;
  for (const auto& [n, t] : model->source().all()) all += t.nbytes;
  EXPECT_EQ(decode_bytes_per_token(*model), all);
  std::filesystem::remove(path);
}

TEST(Bench, UntiedModelReadsOneEmbeddingRow) {
  const std::string path = write_tiny("rs_bench_test_untied.gguf", false);
  auto model = Model::load(path);
  uint64_t all = 0;
  for (const auto& [n, t] : model->source().all()) all += t.nbytes;
  const TensorRef* e = model->source().find("token_embd.weight");
  EXPECT_EQ(decode_bytes_per_token(*model), all - e->nbytes + e->nbytes / 512);
  std::filesystem::remove(path);
}

TEST(Bench, StatsAreMeanAndSampleSd) {
  BenchStats s;
  s.tokens_per_s = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(s.mean(), 2.5);
  EXPECT_NEAR(s.sd(), 1.2909944, 1e-6);
}

}  // namespace
}  // namespace rs
