// Router metrics on examples small enough to work out by hand (RouteLLM's definitions: PGR,
// APGR as the area under the PGR-vs-call-share curve, CPT as its first crossing).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "eval/route_eval.h"

namespace rs::eval {
namespace {

std::vector<RouteExample> five() {
  // small 2/5 correct, large 3/5: the gap is 0.2.
  return {{"q0", true, true},
          {"q1", false, true},
          {"q2", false, true},
          {"q3", false, false},
          {"q4", true, false}};
}

TEST(RouteEval, CurveApgrCptByHand) {
  // Order of routing: q1 (+1), q3 (0), q2 (+1), q0 (0), q4 (-1) -> PGR 0,1,1,2,2,1.
  const RouteMetrics m = evaluate_router({0.1, 0.9, 0.7, 0.8, 0.05}, five());
  EXPECT_DOUBLE_EQ(m.quality_small, 0.4);
  EXPECT_DOUBLE_EQ(m.quality_large, 0.6);
  ASSERT_EQ(m.curve.size(), 6u);
  const double pgr[] = {0, 1, 1, 2, 2, 1};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(m.curve[i].call_fraction, 0.2 * static_cast<double>(i), 1e-12);
    EXPECT_NEAR(m.curve[i].pgr, pgr[i], 1e-12);
  }
  EXPECT_NEAR(m.apgr, 0.1 + 0.2 + 0.3 + 0.4 + 0.3, 1e-12);
  EXPECT_NEAR(m.cpt50, 0.1, 1e-12);
  EXPECT_NEAR(m.cpt80, 0.16, 1e-12);
  EXPECT_NEAR(pgr_at(m.curve, 0.5), 1.5, 1e-12);
}

TEST(RouteEval, TiesMoveTogether) {
  const RouteMetrics m = evaluate_router({1, 1, 1, 1, 1}, five());
  ASSERT_EQ(m.curve.size(), 2u);
  EXPECT_NEAR(m.apgr, 0.5, 1e-12);
  EXPECT_NEAR(m.cpt50, 0.5, 1e-12);
  EXPECT_NEAR(m.cpt80, 0.8, 1e-12);
}

TEST(RouteEval, EqualModelsAreAnError) {
  EXPECT_THROW(evaluate_router({1, 2}, {{"a", true, false}, {"b", false, true}}), Error);
  EXPECT_THROW(evaluate_router({1}, five()), Error);
}

TEST(RouteEval, RandomRouterAveragesToTheDiagonal) {
  // By linearity of expectation a uniformly random set of k queries recovers k/N of the gap, so
  // the expected curve is PGR = c and the expected APGR exactly 0.5.
  std::mt19937_64 rng(7);
  std::vector<RouteExample> data;
  for (int i = 0; i < 300; ++i) data.push_back({"", rng() % 3 == 0, rng() % 4 != 0});
  const RandomRouterStats r = random_router(data, 2000, 11);
  EXPECT_NEAR(r.apgr_mean, 0.5, 0.01);
  EXPECT_LT(r.apgr_lo, 0.5);
  EXPECT_GT(r.apgr_hi, 0.5);
  EXPECT_LT(r.cpt50_lo, r.cpt50_mean);
  EXPECT_GT(r.cpt80_hi, r.cpt80_mean);
}

TEST(RouteEval, TfidfIsUnitLengthAndWeighsRareWordsMore) {
  HashedTfidf f(16);
  f.fit({"the cat", "the dog", "the bird"});
  const SparseVec v = f.transform("the cat cat");
  ASSERT_EQ(v.index.size(), 4u);  // the, cat, "the cat", "cat cat"
  double norm = 0;
  for (float x : v.value) norm += static_cast<double>(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-6);
  const SparseVec common = f.transform("the"), rare = f.transform("cat");
  ASSERT_EQ(common.value.size(), 1u);
  EXPECT_FLOAT_EQ(common.value[0], 1.0f);  // normalised away, but the raw weights differ:
  const SparseVec both = f.transform("the cat");
  // both has the (idf 1), cat (idf ln(4/2)+1) and the bigram (idf ln(4/2)+1).
  float w_the = 0, w_cat = 0;
  for (size_t k = 0; k < both.index.size(); ++k) {
    if (both.index[k] == common.index[0]) w_the = both.value[k];
    if (both.index[k] == rare.index[0]) w_cat = both.value[k];
  }
  EXPECT_NEAR(w_cat / w_the, std::log(2.0) + 1, 1e-5);
}

TEST(RouteEval, RouterLearnsWhichQuestionsNeedTheLargeModel) {
  // Questions about "integrals" defeat the small model; the large one answers everything.
  std::mt19937_64 rng(3);
  const char* topics[] = {"integrals", "history", "poems", "rivers"};
  auto make = [&](int n) {
    std::vector<RouteExample> d;
    for (int i = 0; i < n; ++i) {
      const int t = static_cast<int>(rng() % 4);
      d.push_back(
          {std::string("a question about ") + topics[t] + " number " + std::to_string(rng() % 1000),
           t != 0, true});
    }
    return d;
  };
  const auto train = make(400), test = make(200);
  for (RouterScore kind : {RouterScore::kGain, RouterScore::kSmallWrong}) {
    TextRouter r;
    const RouterTraining info = r.fit(train, kind, 5);
    EXPECT_EQ(info.n_validation, 80);
    std::vector<double> s;
    for (const auto& ex : test) s.push_back(r.score(ex.text));
    const RouteMetrics m = evaluate_router(s, test);
    EXPECT_GT(m.apgr, 0.85);  // a perfect router reaches 1 - share/2 = 0.875
    EXPECT_LT(m.cpt80, 0.3);
  }
}

}  // namespace
}  // namespace rs::eval
