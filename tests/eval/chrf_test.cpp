// chrF against sacrebleu's output on the DialogSum baseline, plus hand-checked small cases.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/chrf.h"
#include "eval_data.h"

namespace rs::eval {
namespace {

TEST(Chrf, DialogSumBaselineCorpus) {
  RS_REQUIRE_SHARED();
  const auto expected = rs::test::load_json("metrics/dialogsum_baseline_sacrebleu_expected.json");
  const auto hyps = rs::test::dialogsum_hyps();
  const auto refs3 = rs::test::dialogsum_refs(3);
  const double one = corpus_chrf(hyps, {refs3[0]});
  const double three = corpus_chrf(hyps, refs3);
  EXPECT_NEAR(one, expected["corpus"]["chrf_ref1"]["score"].get<double>(), 1e-12);
  EXPECT_NEAR(three, expected["corpus"]["chrf_ref1+2+3"]["score"].get<double>(), 1e-12);
  const std::string sig = expected["corpus"]["chrf_ref1"]["signature"];
  const std::string ours = chrf_signature({}, 1);
  EXPECT_EQ(ours.substr(0, ours.find("|version:")), sig.substr(0, sig.find("|version:")));
}

TEST(Chrf, HandComputedSentence) {
  // "ab" vs "ab": every order present on both sides matches fully.
  EXPECT_DOUBLE_EQ(sentence_chrf("ab", {"ab"}), 100.0);
  // Whitespace is removed before counting: "a b" == "ab".
  EXPECT_DOUBLE_EQ(sentence_chrf("a b", {"ab"}), 100.0);
  // "ab" vs "ac": unigrams P = R = 1/2; bigrams P = R = 0 (both sides have one).
  // avg P = avg R = 1/4 over the 2 effective orders; F2 = 5 PR / (4P + R) = 1/4.
  EXPECT_NEAR(sentence_chrf("ab", {"ac"}), 25.0, 1e-12);
  // With several references the best one is kept.
  EXPECT_DOUBLE_EQ(sentence_chrf("ab", {"ac", "ab"}), 100.0);
  // Lowercasing is optional.
  EXPECT_LT(sentence_chrf("AB", {"ab"}), 1.0);
  ChrfOptions lc;
  lc.lowercase = true;
  EXPECT_DOUBLE_EQ(sentence_chrf("AB", {"ab"}, lc), 100.0);
  EXPECT_THROW(sentence_chrf("ab", {}), Error);
}

TEST(Chrf, ChrfPlusPlusAddsWordNgrams) {
  ChrfOptions pp;
  pp.word_order = 2;
  EXPECT_DOUBLE_EQ(sentence_chrf("the cat sat.", {"the cat sat."}, pp), 100.0);
  // Same characters, different word split: chrF ignores it, chrF++ does not.
  EXPECT_DOUBLE_EQ(sentence_chrf("thecat", {"the cat"}), 100.0);
  EXPECT_LT(sentence_chrf("thecat", {"the cat"}, pp), 100.0);
  EXPECT_EQ(chrf_segment_stats("a b", {"a b"}, pp).values.size(), 3u * 8u);
}

}  // namespace
}  // namespace rs::eval
