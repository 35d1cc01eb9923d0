// ROUGE against ROUGE-1.5.5: the per-example values in metrics/rouge_expected.json (from
// Google's rouge-score tests, ground truth by ROUGE-1.5.5) and the DialogSum baseline run
// (metrics/dialogsum_baseline_rouge155_expected.json: every per-example score and the printed
// averages and confidence intervals, with and without -m, with 1 and 3 references).
#include <gtest/gtest.h>

#include <cmath>

#include "eval/rouge.h"
#include "eval_data.h"

namespace rs::eval {
namespace {

using nlohmann::json;

std::vector<std::string> lines_of(const std::string& rel) {
  std::string text = rs::test::read_file(rs::test::shared_dir() / rel);
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

RougeCounts counts_for(const std::string& type, const RougeSummary& peer,
                       const std::vector<RougeSummary>& models) {
  if (type == "rouge1") return rouge_n_counts(peer, models, 1);
  if (type == "rouge2") return rouge_n_counts(peer, models, 2);
  return rouge_l_counts(peer, models);
}

TEST(Rouge, GoogleRougeScorePerExampleVsRouge155) {
  RS_REQUIRE_SHARED();
  const json cases = rs::test::load_json("metrics/rouge_expected.json");
  const auto targets = lines_of("metrics/rouge_score_google/target.txt");
  const auto predictions = lines_of("metrics/rouge_score_google/prediction.txt");
  int checked = 0;
  for (const auto& c : cases["per_example_vs_rouge155"]) {
    const auto line = c["line"].get<size_t>();
    const bool stem = c["stem"].get<bool>();
    const std::string type = c["type"];
    const RougeCounts counts = counts_for(type, rouge_tokenize(predictions.at(line), stem),
                                          {rouge_tokenize(targets.at(line), stem)});
    // Recall and precision print exactly as ROUGE-1.5.5 prints them.
    const RougePRF rounded = rouge155_prf(counts);
    const int places = c["places"].get<int>();
    EXPECT_EQ(rs::test::fixed(rounded.precision, places),
              rs::test::fixed(c["P"].get<double>(), places))
        << c.dump();
    EXPECT_EQ(rs::test::fixed(rounded.recall, places),
              rs::test::fixed(c["R"].get<double>(), places))
        << c.dump();
    // F is checked the way rouge-score's test checks it (assertAlmostEqual, places=5) on the
    // unrounded score: for line 1 rouge2 the file's F (0.36364) is the unrounded F = 12/33
    // rounded, while ROUGE-1.5.5 itself derives F from the already rounded P and R and prints
    // 0.36363; so rouge155_prf's F is within one unit of the last place.
    const RougePRF exact = rouge_prf(counts);
    EXPECT_NEAR(exact.f, c["F"].get<double>(), 0.5 * std::pow(10.0, -places)) << c.dump();
    EXPECT_NEAR(rounded.f, c["F"].get<double>(), 1.000001 * std::pow(10.0, -places)) << c.dump();
    checked += 3;
  }
  EXPECT_EQ(checked, 30);
}

TEST(Rouge, GoogleRougeScoreUnitCases) {
  RS_REQUIRE_SHARED();
  const json cases = rs::test::load_json("metrics/rouge_expected.json");
  int checked = 0;
  for (const auto& c : cases["unit_cases"]) {
    const double tol = c.contains("places") ? 0.5 * std::pow(10.0, -c["places"].get<int>()) : 1e-12;
    std::string types = c["type"];
    for (size_t start = 0; start <= types.size();) {
      size_t end = types.find('|', start);
      if (end == std::string::npos) end = types.size();
      const std::string type = types.substr(start, end - start);
      start = end + 1;
      // rougeLsum is the summary-level LCS over newline-separated sentences, which is what
      // ROUGE-1.5.5 computes for a multi-line summary.
      const RougeSummary peer = rouge_tokenize(c["prediction"].get<std::string>(), false);
      const RougeSummary model = rouge_tokenize(c["target"].get<std::string>(), false);
      const RougePRF got = rouge_prf(counts_for(type, peer, {model}));
      EXPECT_NEAR(got.precision, c["P"].get<double>(), tol) << type << " " << c.dump();
      EXPECT_NEAR(got.recall, c["R"].get<double>(), tol) << type << " " << c.dump();
      EXPECT_NEAR(got.f, c["F"].get<double>(), tol) << type << " " << c.dump();
      checked += 3;
    }
  }
  EXPECT_EQ(checked, 3 * 13);
}

TEST(Rouge, SummaryLevelLcsUnion) {
  RS_REQUIRE_SHARED();
  const json all = rs::test::load_json("metrics/rouge_expected.json");
  const json& c = all["summary_level_lcs_union_example"];
  auto to_summary = [](const json& sents) {
    RougeSummary s;
    for (const auto& sent : sents) {
      s.emplace_back();
      for (const auto& tok : sent) s.back().push_back(std::to_string(tok.get<int>()));
    }
    return s;
  };
  const RougePRF got = rouge_prf(rouge_l_counts(to_summary(c["cands"]), {to_summary(c["refs"])}));
  EXPECT_NEAR(got.recall, c["R"].get<double>(), 1e-12);
  EXPECT_NEAR(got.precision, c["P"].get<double>(), 1e-12);
  EXPECT_NEAR(got.f, c["F"].get<double>(), 0.5e-4);
}

struct DialogSumRun {
  const char* key;
  size_t n_refs;
  bool stem;
};

class RougeDialogSum : public ::testing::TestWithParam<DialogSumRun> {};

TEST_P(RougeDialogSum, PerExampleAndAverages) {
  RS_REQUIRE_SHARED();
  const DialogSumRun run = GetParam();
  static const json expected =
      rs::test::load_json("metrics/dialogsum_baseline_rouge155_expected.json");
  const json& res = expected["results"][run.key];
  const auto hyps = rs::test::dialogsum_hyps();
  auto refs = rs::test::dialogsum_refs(3);
  refs.resize(run.n_refs);
  RougeOptions opt;
  opt.stem = run.stem;
  const RougeReport rep = corpus_rouge(hyps, refs, opt);
  ASSERT_EQ(rep.names, (std::vector<std::string>{"rouge1", "rouge2", "rougeL"}));
  const char* theirs[] = {"ROUGE-1", "ROUGE-2", "ROUGE-L"};

  int per_example_ok = 0, per_example_all = 0;
  for (size_t m = 0; m < 3; ++m) {
    for (size_t i = 0; i < hyps.size(); ++i) {
      const json& rpf = res["per_example"][std::to_string(i + 1) + ".1"][theirs[m]];
      const RougePRF& got = rep.per_example[m][i];
      const double want[3] = {rpf[0].get<double>(), rpf[1].get<double>(), rpf[2].get<double>()};
      const double have[3] = {got.recall, got.precision, got.f};
      for (int k = 0; k < 3; ++k) {
        ++per_example_all;
        // Both sides are 5-decimal numbers: they must print the same.
        const bool ok = rs::test::fixed(have[k], 5) == rs::test::fixed(want[k], 5);
        per_example_ok += ok;
        EXPECT_TRUE(ok) << run.key << " " << theirs[m] << " example " << i + 1 << " R/P/F[" << k
                        << "]: " << have[k] << " vs " << want[k];
      }
    }
    const json& avg = res["average"][theirs[m]];
    const RougeAverage& a = rep.averages[m];
    const std::pair<const char*, std::array<double, 3>> parts[] = {
        {"R", {a.average.recall, a.ci_low.recall, a.ci_high.recall}},
        {"P", {a.average.precision, a.ci_low.precision, a.ci_high.precision}},
        {"F", {a.average.f, a.ci_low.f, a.ci_high.f}}};
    for (const auto& [name, v] : parts) {
      EXPECT_EQ(rs::test::fixed(v[0], 5), rs::test::fixed(avg[name]["mean"].get<double>(), 5))
          << run.key << " " << theirs[m] << " Average_" << name;
      EXPECT_EQ(rs::test::fixed(v[1], 5), rs::test::fixed(avg[name]["ci95"][0].get<double>(), 5))
          << run.key << " " << theirs[m] << " CI low " << name;
      EXPECT_EQ(rs::test::fixed(v[2], 5), rs::test::fixed(avg[name]["ci95"][1].get<double>(), 5))
          << run.key << " " << theirs[m] << " CI high " << name;
    }
  }
  EXPECT_EQ(per_example_ok, per_example_all);
  EXPECT_EQ(per_example_all, 4500);
}

INSTANTIATE_TEST_SUITE_P(Rouge155, RougeDialogSum,
                         ::testing::Values(DialogSumRun{"ref1_nostem", 1, false},
                                           DialogSumRun{"ref1_stem", 1, true},
                                           DialogSumRun{"ref3_nostem", 3, false},
                                           DialogSumRun{"ref3_stem", 3, true}),
                         [](const auto& p) { return std::string(p.param.key); });

TEST(Rouge, TokenizationMatchesRouge155) {
  const RougeSummary s = rouge_tokenize("Hello, World! It's e-mail #42\nsecond line", false);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], (std::vector<std::string>{"hello", "world", "it", "s", "e", "mail", "42"}));
  EXPECT_EQ(s[1], (std::vector<std::string>{"second", "line"}));
  // Only tokens longer than 3 characters are stemmed.
  EXPECT_EQ(rouge_tokenize("was running dogs", true)[0],
            (std::vector<std::string>{"was", "run", "dog"}));
}

TEST(Rouge, MultiReferenceModes) {
  const RougeSummary peer = rouge_tokenize("a b c", false);
  const std::vector<RougeSummary> models = {rouge_tokenize("a b c", false),
                                            rouge_tokenize("x y", false)};
  // -f A sums over the references: 3 hits of 5 reference words, 3 of 6 peer words.
  const RougeCounts avg = rouge_n_counts(peer, models, 1, RougeMultiRef::kAverage);
  EXPECT_EQ(avg.hit, 3);
  EXPECT_EQ(avg.model, 5);
  EXPECT_EQ(avg.peer, 6);
  // -f B keeps the reference with the best recall.
  const RougeCounts best = rouge_n_counts(peer, models, 1, RougeMultiRef::kBest);
  EXPECT_EQ(best.hit, 3);
  EXPECT_EQ(best.model, 3);
  EXPECT_EQ(best.peer, 3);
}

}  // namespace
}  // namespace rs::eval
