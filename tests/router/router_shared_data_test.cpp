// Router back ends on shared files: the embedding back end with the random-weight bert from
// oracle/ (mechanics only: train, save, load, same predictions), and the TF-IDF back end on a
// real subset of CLINC150 (train rows of 20 intents, scored on their validation rows).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "router/intent_classifier.h"
#include "router/router_training.h"
#include "router_test_data.h"
#include "test_util.h"

namespace rs::router {
namespace {

namespace fs = std::filesystem;

TEST(RouterEmbedding, TrainSaveLoadPredictsTheSame) {
  RS_REQUIRE_SHARED();
  const fs::path bert = rs::test::shared_dir() / "oracle/models/bert-f32.gguf";
  if (!fs::exists(bert)) GTEST_SKIP() << "no " << bert;
  RouterTrainOptions o;
  o.embedder = bert.string();
  o.l2_grid = {1e-5};
  o.epochs = 30;
  RouterTrainReport rep;
  const auto clf = train_router(test::toy_intents(8), test::toy_intents(3, 40), o, &rep);
  EXPECT_EQ(clf.parts().backend, Backend::kEmbedding);
  EXPECT_EQ(rep.n_features, 64u);  // the oracle bert's width
  const auto path = (fs::temp_directory_path() / "rs_embedding.router").string();
  clf.save(path);
  const auto back = IntentClassifier::load(path);
  EXPECT_EQ(back.parts().backend, Backend::kEmbedding);
  IntentClassifier::Scratch s1, s2;
  for (const auto& row : test::toy_intents(3, 11)) {
    const Intent a = clf.classify(row.text, s1), b = back.classify(row.text, s2);
    EXPECT_EQ(a.label, b.label);
    EXPECT_FLOAT_EQ(a.confidence, b.confidence);
  }
  fs::remove(path);
}

TEST(RouterTfidf, LearnsRealClincIntents) {
  RS_REQUIRE_SHARED();
  const fs::path dir = rs::test::shared_dir() / "datasets/clinc150";
  if (!fs::exists(dir / "train.jsonl")) GTEST_SKIP() << "no " << dir;
  auto subset = [](const std::vector<train::LabeledText>& rows) {
    std::set<std::string> keep;
    for (const auto& r : rows)
      if (keep.size() < 20 || keep.count(r.label)) keep.insert(r.label);
    std::vector<train::LabeledText> out;
    for (const auto& r : rows)
      if (keep.count(r.label)) out.push_back(r);
    return out;
  };
  const auto train = subset(train::read_labeled_jsonl((dir / "train.jsonl").string(), true));
  auto val = train::read_labeled_jsonl((dir / "validation.jsonl").string(), true);
  std::set<std::string> labels;
  for (const auto& r : train) labels.insert(r.label);
  std::erase_if(val, [&](const auto& r) { return !labels.count(r.label); });
  ASSERT_EQ(labels.size(), 20u);
  ASSERT_GT(val.size(), 300u);
  RouterTrainOptions o;
  o.l2_grid = {3e-6};
  o.epochs = 6;
  RouterTrainReport rep;
  train_router(train, val, o, &rep);
  EXPECT_GT(rep.heldout_accuracy, 0.9) << "20 CLINC150 intents";
  EXPECT_LT(rep.heldout_nll_after, rep.heldout_nll_before + 1e-9);
}

}  // namespace
}  // namespace rs::router
