// Text features: the n-grams produced, TF-IDF weighting (recomputed by hand) and the
// validation of stored vectorizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/text_features.h"

namespace rs::train {
namespace {

TEST(TextFeatures, CountsWordAndCharacterNgrams) {
  TextFeatureConfig cfg;  // word 1-2, char 2-5
  FeatureScratch s;
  hash_features("Ab cd", cfg, s);
  // words: "ab", "cd", bigram "ab cd" = 3; char n-grams of " ab " (len 4): n=2:3, n=3:2, n=4:1
  // and the same for " cd ": 12. Total 15.
  EXPECT_EQ(s.buckets.size(), 15u);
  EXPECT_TRUE(std::is_sorted(s.buckets.begin(), s.buckets.end()));
  FeatureScratch t;
  hash_features("  AB,  cd!! ", cfg, t);  // case and punctuation do not matter
  EXPECT_EQ(s.buckets, t.buckets);
  hash_features("", cfg, t);
  EXPECT_TRUE(t.buckets.empty());
}

TEST(TextFeatures, WordOnlyConfigGivesWordFeatures) {
  TextFeatureConfig cfg{16, 1, 0, 0};
  FeatureScratch s;
  hash_features("one two two", cfg, s);
  ASSERT_EQ(s.buckets.size(), 3u);
  // "two" twice: sorted, so its two equal buckets are adjacent; "one" differs.
  const auto distinct = std::unique(s.buckets.begin(), s.buckets.end()) - s.buckets.begin();
  EXPECT_EQ(distinct, 2);
  for (uint32_t b : s.buckets) EXPECT_LT(b, 1u << 16);
}

TEST(TextFeatures, TfidfMatchesHandComputation) {
  TextFeatureConfig cfg{16, 1, 0, 0};
  const std::vector<std::string_view> docs = {"red apple", "green apple", "red red car"};
  const auto v = TfidfVectorizer::fit(docs, cfg);
  EXPECT_EQ(v.n_features(), 4u);  // red, apple, green, car
  SparseRow row;
  FeatureScratch s;
  v.transform("red red apple unknown", s, row);
  ASSERT_EQ(row.index.size(), 2u);
  // red: tf 2, df 2 -> (1 + ln 2)(ln(4/3) + 1); apple: tf 1, df 2 -> ln(4/3) + 1.
  const double idf = std::log(4.0 / 3.0) + 1;
  const double red = (1 + std::log(2.0)) * idf, apple = idf, norm = std::hypot(red, apple);
  std::vector<double> got(row.value.begin(), row.value.end());
  std::sort(got.begin(), got.end());
  EXPECT_NEAR(got[0], apple / norm, 1e-6);
  EXPECT_NEAR(got[1], red / norm, 1e-6);
  v.transform("nothing known", s, row);
  EXPECT_TRUE(row.index.empty());
}

TEST(TextFeatures, StoredVectorizerIsValidated) {
  TextFeatureConfig cfg{10, 2, 2, 5};
  EXPECT_NO_THROW(TfidfVectorizer(cfg, {1, 5, 9}, {1, 2, 3}));
  EXPECT_THROW(TfidfVectorizer(cfg, {5, 1}, {1, 2}), Error);        // not increasing
  EXPECT_THROW(TfidfVectorizer(cfg, {1, 1024}, {1, 2}), Error);     // beyond 2^10
  EXPECT_THROW(TfidfVectorizer(cfg, {1, 2}, {1}), Error);           // sizes differ
  EXPECT_THROW(TfidfVectorizer(cfg, {1}, {std::nanf("")}), Error);  // bad idf
  EXPECT_THROW(TfidfVectorizer(TextFeatureConfig{40, 2, 2, 5}, {}, {}), Error);
  EXPECT_THROW(TfidfVectorizer(TextFeatureConfig{16, 0, 0, 0}, {}, {}), Error);
}

}  // namespace
}  // namespace rs::train
