// The out-of-scope threshold: metrics recomputed by hand and the lowest threshold that reaches
// the target recall.
#include <gtest/gtest.h>

#include "router/oos_threshold.h"

namespace rs::router {
namespace {

// Class 2 is out of scope. Rows: (pred, conf, gold).
const std::vector<int> kPred = {0, 1, 0, 1, 0, 2, 1};
const std::vector<float> kConf = {0.9f, 0.8f, 0.3f, 0.6f, 0.4f, 0.7f, 0.5f};
const std::vector<int> kGold = {0, 1, 1, 1, 2, 2, 2};

TEST(OosThreshold, Metrics) {
  const ScopeMetrics m0 = scope_metrics(kPred, kConf, kGold, 2, 0.0f);
  EXPECT_EQ(m0.n_in_scope, 4);
  EXPECT_EQ(m0.n_oos, 3);
  EXPECT_DOUBLE_EQ(m0.in_scope_accuracy, 3.0 / 4);  // row 2 is wrong
  EXPECT_DOUBLE_EQ(m0.oos_recall, 1.0 / 3);         // only row 5 (pred oos)
  EXPECT_DOUBLE_EQ(m0.oos_precision, 1.0);
  const ScopeMetrics m = scope_metrics(kPred, kConf, kGold, 2, 0.55f);
  // called oos: rows 2 (0.3), 4 (0.4), 5 (class), 6 (0.5).
  EXPECT_DOUBLE_EQ(m.in_scope_accuracy, 3.0 / 4);
  EXPECT_DOUBLE_EQ(m.oos_recall, 1.0);
  EXPECT_DOUBLE_EQ(m.oos_precision, 3.0 / 4);
}

TEST(OosThreshold, LowestThresholdReachingTheTarget) {
  const float t = choose_oos_threshold(kPred, kConf, kGold, 2, 0.6);
  // Recall 2/3 needs row 4 (conf 0.4) caught: just above 0.4.
  EXPECT_GT(t, 0.4f);
  EXPECT_LT(t, 0.41f);
  EXPECT_NEAR(scope_metrics(kPred, kConf, kGold, 2, t).oos_recall, 2.0 / 3, 1e-12);
  const float all = choose_oos_threshold(kPred, kConf, kGold, 2, 1.0);
  EXPECT_GT(all, 0.5f);
  EXPECT_DOUBLE_EQ(scope_metrics(kPred, kConf, kGold, 2, all).oos_recall, 1.0);
  EXPECT_EQ(choose_oos_threshold(kPred, kConf, kGold, 2, 0.2), 0.0f);   // class alone suffices
  EXPECT_EQ(choose_oos_threshold(kPred, kConf, kGold, -1, 0.8), 0.0f);  // no oos class
}

}  // namespace
}  // namespace rs::router
