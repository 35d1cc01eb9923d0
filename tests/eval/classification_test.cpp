// Classification metrics on hand-computed examples, and macro-F1 against a direct formula.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "eval/classification.h"

namespace rs::eval {
namespace {

TEST(Classification, HandComputedThreeClasses) {
  // gold:  a a a b b c
  // pred:  a a b b c c
  // a: tp 2, predicted 2, support 3 -> P 1,   R 2/3, F1 0.8
  // b: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 1/2
  // c: tp 1, predicted 2, support 1 -> P 1/2, R 1,   F1 2/3
  const std::vector<std::string> gold = {"a", "a", "a", "b", "b", "c"};
  const std::vector<std::string> pred = {"a", "a", "b", "b", "c", "c"};
  const auto r = classification_report(gold, pred);
  EXPECT_EQ(r.n, 6);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6);
  ASSERT_EQ(r.labels, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_DOUBLE_EQ(r.per_class[0].score.precision, 1.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].score.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_class[0].score.f1, 0.8);
  EXPECT_DOUBLE_EQ(r.per_class[1].score.f1, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[2].score.f1, 2.0 / 3);
  EXPECT_EQ(r.per_class[2].support, 1);
  EXPECT_EQ(r.per_class[2].predicted, 2);
  EXPECT_NEAR(r.macro.precision, (1.0 + 0.5 + 0.5) / 3, 1e-15);
  EXPECT_NEAR(r.macro.recall, (2.0 / 3 + 0.5 + 1.0) / 3, 1e-15);
  EXPECT_NEAR(r.macro.f1, (0.8 + 0.5 + 2.0 / 3) / 3, 1e-15);
  EXPECT_NEAR(r.weighted.f1, (3 * 0.8 + 2 * 0.5 + 1 * 2.0 / 3) / 6, 1e-15);
  EXPECT_DOUBLE_EQ(r.micro.f1, r.accuracy);
  const std::vector<std::vector<int64_t>> confusion = {{2, 1, 0}, {0, 1, 1}, {0, 0, 1}};
  EXPECT_EQ(r.confusion, confusion);
}

TEST(Classification, PredictedLabelOutsideGoldIsAClassWithZeroRecall) {
  const auto r = classification_report({"x", "x"}, {"x", "y"});
  ASSERT_EQ(r.labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_DOUBLE_EQ(r.per_class[1].score.precision, 0.0);  // 0/1
  EXPECT_DOUBLE_EQ(r.per_class[1].score.recall, 0.0);     // no support: 0 by convention
  EXPECT_DOUBLE_EQ(r.macro.f1, (2.0 / 3 + 0) / 2);
}

TEST(Classification, OutOfScope) {
  // gold: oos oos oos A B ; pred: oos A oos oos B
  // oos: tp 2, predicted 3, support 3 -> P 2/3, R 2/3. In-scope: A wrong, B right -> 1/2.
  const auto r = classification_report({"oos", "oos", "oos", "A", "B"},
                                       {"oos", "A", "oos", "oos", "B"}, std::string("oos"));
  ASSERT_TRUE(r.oos.has_value());
  EXPECT_DOUBLE_EQ(r.oos->score.precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.oos->score.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.oos->in_scope_accuracy, 0.5);
  EXPECT_EQ(r.oos->support, 3);
  EXPECT_EQ(r.oos->in_scope_support, 2);
}

TEST(Classification, RejectsMismatchedOrEmptyInput) {
  EXPECT_THROW(classification_report({"a"}, {"a", "b"}), Error);
  EXPECT_THROW(classification_report({}, {}), Error);
}

// Macro-F1 written out from its definition (F1 = 2 tp / (2 tp + fp + fn), the mean over the
// union of labels) on random data, against the report.
TEST(Classification, MacroF1MatchesDirectFormulaOnRandomData) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> label(0, 6);
  std::bernoulli_distribution agree(0.6);
  std::vector<std::string> gold, pred;
  for (int i = 0; i < 2000; ++i) {
    const int g = label(rng);
    gold.push_back(fmt::format("L{}", g));
    pred.push_back(fmt::format("L{}", agree(rng) ? g : label(rng)));
  }
  std::set<std::string> labels(gold.begin(), gold.end());
  labels.insert(pred.begin(), pred.end());
  double sum = 0;
  for (const auto& l : labels) {
    int tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      tp += gold[i] == l && pred[i] == l;
      fp += gold[i] != l && pred[i] == l;
      fn += gold[i] == l && pred[i] != l;
    }
    sum += tp + fp + fn > 0 ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
  }
  EXPECT_NEAR(classification_report(gold, pred).macro.f1, sum / static_cast<double>(labels.size()),
              1e-12);
}

}  // namespace
}  // namespace rs::eval
