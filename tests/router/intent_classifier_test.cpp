// The intent classifier end to end in-process: training on a toy set, the out-of-scope
// decision, and a save/load round trip that predicts exactly what the trained object predicts.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "router/intent_classifier.h"
#include "router/router_training.h"
#include "router_test_data.h"

namespace rs::router {
namespace {

RouterTrainOptions small_options() {
  RouterTrainOptions o;
  o.l2_grid = {1e-5, 1e-4};
  o.epochs = 8;
  o.threads = 2;
  return o;
}

TEST(IntentClassifier, LearnsToyIntentsAndOutOfScope) {
  RouterTrainReport rep;
  const auto clf =
      train_router(test::toy_intents(30), test::toy_intents(6, 100), small_options(), &rep);
  EXPECT_EQ(clf.n_classes(), 4u);
  EXPECT_TRUE(rep.has_oos);
  EXPECT_GT(rep.temperature, 0);
  EXPECT_GE(rep.heldout_accuracy, 0.99);
  IntentClassifier::Scratch s;
  const Intent a = clf.classify("how much money is in my account", s);
  EXPECT_EQ(a.label, "balance");
  EXPECT_FALSE(a.out_of_scope);
  EXPECT_GT(a.confidence, 0.25f);
  EXPECT_LE(a.confidence, 1.0f);
  EXPECT_EQ(clf.classify("please transfer funds", s).label, "transfer");
  const Intent o = clf.classify("a joke about football", s);
  EXPECT_TRUE(o.out_of_scope);
  EXPECT_EQ(o.label, kOutOfScope);
  // Probabilities sum to one.
  clf.probabilities("lost card", s);
  double sum = 0;
  for (float p : s.probs) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(IntentClassifier, CarvesHeldOutRowsWithoutValidation) {
  RouterTrainReport rep;
  train_router(test::toy_intents(20), {}, small_options(), &rep);
  EXPECT_TRUE(rep.carved);
  EXPECT_EQ(rep.n_heldout + rep.n_train, 80);
  EXPECT_GT(rep.n_heldout, 0);
}

TEST(IntentClassifier, SavedRouterPredictsTheSame) {
  const auto clf = train_router(test::toy_intents(20), test::toy_intents(4, 50), small_options());
  const auto path =
      (std::filesystem::temp_directory_path() / "rs_intent_roundtrip.router").string();
  clf.save(path);
  const auto back = IntentClassifier::load(path);
  EXPECT_EQ(back.labels(), clf.labels());
  EXPECT_EQ(back.threshold(), clf.threshold());
  EXPECT_EQ(back.temperature(), clf.temperature());
  IntentClassifier::Scratch s1, s2;
  for (const auto& row : test::toy_intents(10, 7)) {
    const Intent a = clf.classify(row.text, s1), b = back.classify(row.text, s2);
    EXPECT_EQ(a.label, b.label) << row.text;
    EXPECT_EQ(a.confidence, b.confidence) << row.text;
  }
  std::filesystem::remove(path);
}

TEST(IntentClassifier, TrainingErrors) {
  auto rows = test::toy_intents(3);
  for (auto& r : rows) r.label = "same";
  EXPECT_THROW(train_router(rows, {}, small_options()), Error);  // one label
  auto val = test::toy_intents(2);
  val[1].label = "unseen";
  try {
    train_router(test::toy_intents(5), val, small_options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'unseen'"), std::string::npos) << e.what();
  }
}

TEST(IntentClassifier, PartsAreValidated) {
  const auto clf = train_router(test::toy_intents(8), {}, small_options());
  ClassifierParts p = clf.parts();
  p.temperature = 0;
  EXPECT_THROW(validate(p), Error);
  p = clf.parts();
  p.labels[1] = p.labels[0];
  EXPECT_THROW(validate(p), Error);
  p = clf.parts();
  p.oos_class = -1;  // "oos" is among the labels
  EXPECT_THROW(validate(p), Error);
  p = clf.parts();
  p.head.bias.pop_back();
  EXPECT_THROW(validate(p), Error);
}

}  // namespace
}  // namespace rs::router
