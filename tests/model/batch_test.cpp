// The batched forward pass against single-sequence passes: a sequence's logits must be the same
// bit for bit whatever else shares its batch (continuous batching relies on it), and a KV prefix
// copied from another sequence must give what computing it would.
#include <gtest/gtest.h>

#include <numeric>

#include "core/thread_pool.h"
#include "model/model.h"
#include "test_util.h"

namespace rs {
namespace {

std::vector<int32_t> ids(int n, int seed, int n_vocab) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = static_cast<int32_t>((seed * 131 + i * 17 + 3) % n_vocab);
  return v;
}

class BatchForward : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchForward, SequenceResultsIndependentOfBatch) {
  RS_REQUIRE_SHARED();
  const auto path = test::shared_dir() / GetParam();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  auto model = Model::load(path.string());
  const HParams& hp = model->hparams();
  const int nv = static_cast<int>(hp.n_vocab);
  ThreadPool pool(2);

  // Three sequences at different stages: a long prompt, a short prompt, one that decodes.
  const auto a = ids(23, 1, nv), b = ids(5, 2, nv), c = ids(9, 3, nv);
  const int32_t next_c = 7 % nv;

  // Alone: each prompt by itself, then c's next token by itself.
  KVCache ka(hp, 64), kb(hp, 64), kc(hp, 64);
  Vec la, lb, lc, lc2;
  model->forward(a, ka, &pool, la, /*all_logits=*/true);
  model->forward(b, kb, nullptr, lb);
  model->forward(c, kc, &pool, lc);
  model->forward({&next_c, 1}, kc, &pool, lc2);

  // Together: c's prompt first, then one batch with a (all logits), b (last) and c's decode step.
  KVCache ba(hp, 64), bb(hp, 64), bc(hp, 64);
  Vec tmp, lbatch;
  model->forward(c, bc, &pool, tmp);
  const SeqBatch batch[] = {{a, &ba, SeqBatch::Logits::All},
                            {b, &bb, SeqBatch::Logits::Last},
                            {{&next_c, 1}, &bc, SeqBatch::Logits::Last}};
  model->forward_batch(batch, &pool, lbatch);
  ASSERT_EQ(lbatch.size(), la.size() + lb.size() + lc2.size());
  EXPECT_TRUE(std::equal(la.begin(), la.end(), lbatch.begin()));
  EXPECT_TRUE(std::equal(lb.begin(), lb.end(), lbatch.begin() + static_cast<long>(la.size())));
  EXPECT_TRUE(std::equal(lc2.begin(), lc2.end(), lbatch.end() - static_cast<long>(lc2.size())));
  EXPECT_EQ(ba.n_past(), 23);
  EXPECT_EQ(bc.n_past(), 10);

  // Prefix reuse: copy a's first 15 positions, then run the rest: same logits as computing all.
  KVCache kp(hp, 64);
  kp.copy_prefix_from(ka, 15);
  Vec lp;
  model->forward(std::span(a).subspan(15), kp, &pool, lp, true);
  ASSERT_EQ(lp.size(), 8u * static_cast<size_t>(nv));
  EXPECT_TRUE(std::equal(lp.begin(), lp.end(), la.end() - static_cast<long>(lp.size())));
}

TEST_P(BatchForward, BadSequenceLeavesOthersUntouched) {
  RS_REQUIRE_SHARED();
  const auto path = test::shared_dir() / GetParam();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  auto model = Model::load(path.string());
  const HParams& hp = model->hparams();
  KVCache good(hp, 16), small(hp, 4);
  const auto toks = ids(6, 4, static_cast<int>(hp.n_vocab));
  const SeqBatch batch[] = {{toks, &good, SeqBatch::Logits::Last},
                            {toks, &small, SeqBatch::Logits::Last}};
  Vec logits;
  EXPECT_THROW(model->forward_batch(batch, nullptr, logits), Error);
  EXPECT_EQ(good.n_past(), 0);
  EXPECT_EQ(small.n_past(), 0);
}

INSTANTIATE_TEST_SUITE_P(Models, BatchForward,
                         ::testing::Values("models/stories260K.gguf",
                                           "oracle/models/gemma2-f32.gguf",
                                           "oracle/models/phi3-f32.gguf",
                                           "oracle/models/llama-spm-q4_k_m.gguf"),
                         [](const auto& p) {
                           std::string n = std::filesystem::path(p.param).stem().string();
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace rs
