// BLEU against sacrebleu: its own test vectors (metrics/bleu_expected.json) and its output on the
// DialogSum baseline (metrics/dialogsum_baseline_sacrebleu_expected.json).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/bleu.h"
#include "eval_data.h"

namespace rs::eval {
namespace {

using nlohmann::json;
using rs::test::fixed;

std::vector<std::vector<std::string>> streams(const json& j) {
  return j.get<std::vector<std::vector<std::string>>>();
}

BleuStats stats_from(const json& counts, const json& totals, int64_t sys_len, int64_t ref_len) {
  BleuStats s;
  s.counts = counts.get<std::vector<int64_t>>();
  s.totals = totals.get<std::vector<int64_t>>();
  s.sys_len = sys_len;
  s.ref_len = ref_len;
  return s;
}

// sacrebleu's raw_corpus_bleu(): no tokenization, floor smoothing, effective order.
BleuOptions raw_corpus(double floor) {
  BleuOptions o;
  o.tokenize = BleuTokenizer::kNone;
  o.smooth = BleuSmooth::kFloor;
  o.smooth_value = floor;
  o.effective_order = true;
  return o;
}

BleuOptions sentence_options() {
  BleuOptions o;
  o.effective_order = true;
  return o;
}

TEST(Bleu, SacrebleuCorpusVectors) {
  RS_REQUIRE_SHARED();
  const json vectors = rs::test::load_json("metrics/bleu_expected.json");
  int checked = 0;
  for (const auto& c : vectors["corpus_bleu"]) {
    BleuOptions opt;
    if (c["kwargs"].contains("tokenize"))
      opt.tokenize = *parse_bleu_tokenizer(c["kwargs"]["tokenize"].get<std::string>());
    if (c["kwargs"].contains("smooth_method"))
      opt.smooth = *parse_bleu_smooth(c["kwargs"]["smooth_method"].get<std::string>());
    const auto hyps = c["hyps"].get<std::vector<std::string>>();
    const double got = corpus_bleu(hyps, streams(c["refs"]), opt).score;
    EXPECT_NEAR(got, c["bleu"].get<double>(), c["eps"].get<double>()) << c["kwargs"].dump();
    ++checked;
  }
  for (const auto& c : vectors["max_ngram_order"]) {
    BleuOptions opt;
    opt.max_ngram_order = c["order"].get<int>();
    const auto hyps = c["hyps"].get<std::vector<std::string>>();
    EXPECT_EQ(fixed(corpus_bleu(hyps, streams(c["refs"]), opt).score, 2),
              c["bleu_2dp"].get<std::string>())
        << "order " << opt.max_ngram_order;
    ++checked;
  }
  for (const auto& c : vectors["raw_corpus_bleu_fraction_0_1"]["cases"]) {
    const auto hyps = c["hyps"].get<std::vector<std::string>>();
    const double got = corpus_bleu(hyps, streams(c["refs"]), raw_corpus(0.01)).score / 100;
    EXPECT_NEAR(got, c["bleu"].get<double>(), 1e-8) << c["hyps"].dump();
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

TEST(Bleu, SacrebleuStatisticsAndDegenerateCases) {
  RS_REQUIRE_SHARED();
  const json vectors = rs::test::load_json("metrics/bleu_expected.json");
  const json& st = vectors["statistics"];
  const auto hyps = st["hyps"].get<std::vector<std::string>>();
  const auto refs = streams(st["refs"]);
  const BleuScore with_floor = corpus_bleu(hyps, refs, raw_corpus(0.1));
  EXPECT_EQ(with_floor.counts, st["counts"].get<std::vector<int64_t>>());
  EXPECT_EQ(with_floor.totals, st["totals"].get<std::vector<int64_t>>());
  EXPECT_NEAR(with_floor.score / 100, st["floor_0.1"].get<double>(), 1e-8);
  EXPECT_NEAR(corpus_bleu(hyps, refs, raw_corpus(0.0)).score / 100, st["floor_0.0"].get<double>(),
              1e-8);

  const json& fs = vectors["compute_bleu_from_stats"];
  const BleuStats s = stats_from(fs["counts"], fs["totals"], fs["sys_len"], fs["ref_len"]);
  EXPECT_NEAR(bleu_from_stats(s, BleuSmooth::kNone).score / 100, fs["bleu_fraction"].get<double>(),
              1e-8);

  int degenerate = 0;
  for (const auto& c : vectors["degenerate_stats_floor"]) {
    const BleuStats d = stats_from(c["counts"], c["totals"], c["sys_len"], c["ref_len"]);
    const double got = bleu_from_stats(d, BleuSmooth::kFloor, c["floor"].get<double>()).score / 100;
    EXPECT_EQ(got, c["bleu"].get<double>()) << c.dump();  // sacrebleu asserts exact equality
    ++degenerate;
  }
  EXPECT_EQ(degenerate, 6);
}

TEST(Bleu, SacrebleuSentenceVectors) {
  RS_REQUIRE_SHARED();
  const json vectors = rs::test::load_json("metrics/bleu_expected.json");
  const json& sb = vectors["sentence_bleu"];
  const std::string sys = sb["sys"], ref = sb["ref"];
  int checked = 0;
  for (const auto& c : sb["cases"]) {
    BleuOptions opt = sentence_options();
    opt.smooth = *parse_bleu_smooth(c["smooth"].get<std::string>());
    if (!c["value"].is_null()) opt.smooth_value = c["value"].get<double>();
    opt.lowercase = c["lowercase"].get<bool>();
    opt.tokenize = *parse_bleu_tokenizer(c["tok"].get<std::string>());
    const double expected = c["bleu"].get<double>();
    const double got = sentence_bleu(sys, {ref}, opt).score;
    // sacrebleu's own tolerance for these vectors is 1e-3 (the file's note). They are printed
    // truncated, not rounded (14.882 for 14.88256), so at the printed precision we must be
    // within one unit of the last printed digit.
    EXPECT_NEAR(got, expected, 1e-3) << c.dump();
    const std::string printed = fmt::format("{}", expected);
    const auto dot = printed.find('.');
    const int decimals = dot == std::string::npos ? 0 : static_cast<int>(printed.size() - dot - 1);
    EXPECT_LT(std::fabs(got - expected), std::pow(10.0, -decimals)) << c.dump();
    ++checked;
  }
  EXPECT_EQ(checked, 12);
  for (const char* smooth : {"exp", "none", "floor", "add-k"}) {
    BleuOptions opt = sentence_options();
    opt.smooth = *parse_bleu_smooth(smooth);
    EXPECT_EQ(sentence_bleu(sb["zero_case"]["sys"], {sb["zero_case"]["ref"]}, opt).score,
              sb["zero_case"]["bleu_all_smoothings"].get<double>())
        << smooth;
  }
}

// The names in dialogsum_baseline_sacrebleu_expected.json: bleu_ref1_13a, bleu_ref1+2+3_intl...
struct CorpusCase {
  const char* key;
  size_t n_refs;
  BleuTokenizer tok;
};

TEST(Bleu, DialogSumBaselineCorpus) {
  RS_REQUIRE_SHARED();
  const json expected = rs::test::load_json("metrics/dialogsum_baseline_sacrebleu_expected.json");
  const auto hyps = rs::test::dialogsum_hyps();
  ASSERT_EQ(hyps.size(), 500u);
  const auto refs3 = rs::test::dialogsum_refs(3);
  const std::vector<std::vector<std::string>> refs1 = {refs3[0]};
  const CorpusCase cases[] = {{"bleu_ref1_13a", 1, BleuTokenizer::k13a},
                              {"bleu_ref1_none", 1, BleuTokenizer::kNone},
                              {"bleu_ref1_intl", 1, BleuTokenizer::kIntl},
                              {"bleu_ref1+2+3_13a", 3, BleuTokenizer::k13a},
                              {"bleu_ref1+2+3_none", 3, BleuTokenizer::kNone},
                              {"bleu_ref1+2+3_intl", 3, BleuTokenizer::kIntl}};
  for (const auto& c : cases) {
    const json& e = expected["corpus"][c.key];
    BleuOptions opt;
    opt.tokenize = c.tok;
    const BleuScore got = corpus_bleu(hyps, c.n_refs == 1 ? refs1 : refs3, opt);
    // Same operations in the same order as sacrebleu: the doubles agree to the last bits.
    EXPECT_NEAR(got.score, e["score"].get<double>(), 1e-12) << c.key;
    EXPECT_NEAR(got.bp, e["bp"].get<double>(), 1e-15) << c.key;
    EXPECT_EQ(got.counts, e["counts"].get<std::vector<int64_t>>()) << c.key;
    EXPECT_EQ(got.totals, e["totals"].get<std::vector<int64_t>>()) << c.key;
    EXPECT_EQ(got.sys_len, e["sys_len"].get<int64_t>()) << c.key;
    EXPECT_EQ(got.ref_len, e["ref_len"].get<int64_t>()) << c.key;
    // The signature up to sacrebleu's version field.
    const std::string sig = e["signature"];
    const std::string ours = bleu_signature(opt, static_cast<int>(c.n_refs));
    EXPECT_EQ(ours.substr(0, ours.find("|version:")), sig.substr(0, sig.find("|version:")));
  }
}

TEST(Bleu, DialogSumBaselineSentenceBleu) {
  RS_REQUIRE_SHARED();
  const json expected = rs::test::load_json("metrics/dialogsum_baseline_sacrebleu_expected.json");
  const auto want = expected["sentence_bleu_summary1"].get<std::vector<double>>();
  const auto hyps = rs::test::dialogsum_hyps();
  const auto ref1 = rs::test::dialogsum_refs(1)[0];
  ASSERT_EQ(want.size(), hyps.size());
  int matched = 0;
  for (size_t i = 0; i < hyps.size(); ++i) {
    const double got = sentence_bleu(hyps[i], {ref1[i]}).score;
    const bool same = fixed(got, 6) == fixed(want[i], 6);  // printed with 6 decimals
    EXPECT_TRUE(same) << "line " << i + 1 << ": " << fixed(got, 9) << " vs " << want[i];
    matched += same;
  }
  EXPECT_EQ(matched, 500);
}

TEST(Bleu, Tokenizers) {
  EXPECT_EQ(bleu_tokenize("It wasn't surprising.", BleuTokenizer::k13a), "It wasn't surprising .");
  EXPECT_EQ(bleu_tokenize("Price: $3.50, 2-3 (ok)!", BleuTokenizer::k13a),
            "Price : $ 3.50 , 2 - 3 ( ok ) !");
  EXPECT_EQ(bleu_tokenize("a &amp; b &lt;c&gt;", BleuTokenizer::k13a), "a & b < c >");
  EXPECT_EQ(bleu_tokenize("1,000.5 end.", BleuTokenizer::k13a), "1,000.5 end .");
  EXPECT_EQ(bleu_tokenize("It wasn't surprising.", BleuTokenizer::kIntl),
            "It wasn ' t surprising .");
  EXPECT_EQ(bleu_tokenize("zahăr alb; 3,5 €", BleuTokenizer::kIntl), "zahăr alb ; 3,5 €");
  EXPECT_EQ(bleu_tokenize("ab c", BleuTokenizer::kChar), "a b c");
  EXPECT_EQ(bleu_tokenize(" keep  as is ", BleuTokenizer::kNone), " keep  as is ");
}

TEST(Bleu, ClosestReferenceLengthAndEmptyReferences) {
  // Hypothesis of 3 tokens, references of 2 and 4: equally close, the shorter one wins.
  const BleuStats s = bleu_segment_stats("a b c", {"a b", "a b c d", ""}, {});
  EXPECT_EQ(s.sys_len, 3);
  EXPECT_EQ(s.ref_len, 2);
  EXPECT_THROW(bleu_segment_stats("a b c", {"", ""}, {}), Error);
  EXPECT_THROW(corpus_bleu({"a", "b"}, {{"a"}}, {}), Error);
}

}  // namespace
}  // namespace rs::eval
