// The training graph against two independent checks: its forward against the inference forward
// (Model::forward, the path the oracle tests pin to llama.cpp), and its backward against central
// finite differences of its own loss, in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/thread_pool.h"
#include "model/model.h"
#include "test_util.h"
#include "train/graph.h"

namespace rs::train {
namespace {

std::string stories(const char* rel) {
  return (test::shared_dir() / "models" / rel).string();
}

void expect_forward_matches(const std::string& path) {
  auto model = Model::load(path);
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 489, 300, 42, 7, 99};
  KVCache cache(model->hparams(), 64);
  ThreadPool pool(2);
  Vec ref;
  model->forward(tokens, cache, &pool, ref, /*all_logits=*/true);
  auto w = BaseWeights<float>::load(model->source(), model->hparams());
  Graph<float> g(w, &pool);
  std::vector<float> got;
  g.logits(tokens, nullptr, got);
  ASSERT_EQ(got.size(), ref.size());
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    max_diff = std::max(max_diff, std::abs(double(got[i]) - ref[i]));
  std::printf("%s: max |train logits - Model::forward logits| = %.3g\n", path.c_str(), max_diff);
  EXPECT_LT(max_diff, 1e-4);
}

TEST(TrainGraph, ForwardMatchesInferenceGguf) {
  RS_REQUIRE_SHARED();
  expect_forward_matches(stories("stories260K.gguf"));
}

TEST(TrainGraph, ForwardMatchesInferenceHfFolder) {
  RS_REQUIRE_SHARED();
  expect_forward_matches(stories("stories260K-hf"));
}

// Loss and gradients in double; every LoRA target on every layer, B non-zero so that the A
// gradients and every path through the network are exercised.
struct FdFixture {
  std::unique_ptr<Model> model;
  BaseWeights<double> w;
  LoraSet<double> lora;
  Sequence seq;
};

FdFixture make_fixture(const std::string& path) {
  FdFixture f;
  f.model = Model::load(path);
  const HParams& hp = f.model->hparams();
  f.w = BaseWeights<double>::load(f.model->source(), hp);
  f.lora = LoraSet<double>::init(
      hp, lora::parse_targets("q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"), 3, 6.0,
      false, 7);
  std::mt19937_64 rng(11);
  for (auto& layer : f.lora.layers)
    for (auto& t : layer)
      for (auto& b : t.b) b = (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.2;
  f.seq.tokens = {1, 403, 407, 261, 378, 300, 42, 7, 99, 250, 13};
  f.seq.target = {0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1};
  return f;
}

TEST(TrainGraph, BackwardMatchesFiniteDifferences) {
  RS_REQUIRE_SHARED();
  for (const char* rel : {"stories260K.gguf", "stories260K-hf"}) {
    FdFixture f = make_fixture(stories(rel));
    Graph<double> g(f.w, nullptr);
    f.lora.zero_grad();
    std::vector<double> d_embd;
    g.run(f.seq, &f.lora, 1.0, &d_embd);
    std::mt19937_64 rng(5);
    double worst = 0;
    int checked = 0;
    auto check = [&](double& param, double analytic, auto&& loss_fn) {
      const double eps = 1e-5, keep = param;
      param = keep + eps;
      const double up = loss_fn();
      param = keep - eps;
      const double down = loss_fn();
      param = keep;
      const double numeric = (up - down) / (2 * eps);
      const double err =
          std::abs(numeric - analytic) / std::max(1e-3, std::abs(numeric) + std::abs(analytic));
      worst = std::max(worst, err);
      ++checked;
      EXPECT_LT(err, 1e-5) << rel << " analytic " << analytic << " numeric " << numeric;
    };
    auto loss = [&] { return g.run(f.seq, &f.lora, 0.0); };
    for (auto& layer : f.lora.layers)
      for (auto& t : layer) {
        for (int k = 0; k < 3; ++k) {
          const size_t ia = rng() % t.a.size(), ib = rng() % t.b.size();
          check(t.a[ia], t.ga[ia], loss);
          check(t.b[ib], t.gb[ib], loss);
        }
      }
    // Input embedding rows of tokens in the sequence (the gradient reaching the embedding).
    const int64_t E = f.w.hp.n_embd;
    for (int32_t tok : {403, 300, 99}) {
      for (int k = 0; k < 3; ++k) {
        const size_t i = static_cast<size_t>(tok * E + static_cast<int64_t>(rng() % E));
        check(f.w.embd[i], d_embd[i], loss);
      }
    }
    std::printf("%s: %d gradients checked, worst relative error %.3g\n", rel, checked, worst);
  }
}

TEST(TrainGraph, ThreadCountDoesNotChangeGradients) {
  RS_REQUIRE_SHARED();
  auto model = Model::load(stories("stories260K.gguf"));
  auto w = BaseWeights<float>::load(model->source(), model->hparams());
  auto l1 = LoraSet<float>::init(model->hparams(), lora::parse_targets("q_proj,v_proj,down_proj"),
                                 4, 8, false, 3);
  for (auto& layer : l1.layers)
    for (auto& t : layer) std::fill(t.b.begin(), t.b.end(), 0.01f);
  auto l2 = l1;
  Sequence seq{{1, 5, 9, 200, 300, 17}, {0, 0, 0, 1, 1, 1}};
  ThreadPool pool(3);
  Graph<float> g1(w, nullptr), g2(w, &pool);
  EXPECT_EQ(g1.run(seq, &l1, 1.0f), g2.run(seq, &l2, 1.0f));
  for (size_t l = 0; l < l1.layers.size(); ++l)
    for (size_t t = 0; t < l1.layers[l].size(); ++t) {
      EXPECT_EQ(l1.layers[l][t].ga, l2.layers[l][t].ga);
      EXPECT_EQ(l1.layers[l][t].gb, l2.layers[l][t].gb);
    }
}

}  // namespace
}  // namespace rs::train
