// ROUGE-N and ROUGE-L as the original ROUGE-1.5.5.pl computes them (Lin 2004), run as
//   ROUGE-1.5.5.pl -n 2 -a -f A -p 0.5 -c 95 -r 1000 [-m]
// Tokens are the runs of ASCII letters and digits after lowercasing (anything else separates);
// with stemming, tokens longer than 3 characters become their WordNet base form when WordNet
// lists them as irregular ("went" -> "go") and go through ROUGE-1.5.5's own Porter stemmer
// otherwise.
// A summary may hold several sentences (lines): ROUGE-N counts over the whole summary, ROUGE-L
// is the summary-level union LCS (one sentence each gives the plain LCS). Several references
// combine as "-f A" (hits, reference n-grams and hypothesis n-grams are summed over the
// references) or "-f B" (the reference with the best recall).
//
// Rounding is part of ROUGE-1.5.5's output: per example it rounds recall and precision to 5
// decimals, computes F from the rounded values and rounds it too; the corpus "Average" it prints
// is the mean of 1000 bootstrap resamples of those per-example scores (Perl's drand48 seeded
// 0..999), again rounded. rouge155_* reproduce those numbers exactly; rouge_prf() gives the
// unrounded scores (what Google's rouge-score reports).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs::eval {

// Sentences of tokens.
using RougeSummary = std::vector<std::vector<std::string>>;

// Splits `text` into sentences at '\n' (empty lines are skipped) and each into tokens.
RougeSummary rouge_tokenize(std::string_view text, bool stem);

struct RougeCounts {
  int64_t hit = 0;    // matched n-grams (or LCS words)
  int64_t model = 0;  // reference n-grams (or words): the recall denominator
  int64_t peer = 0;   // hypothesis n-grams (or words): the precision denominator
};

struct RougePRF {
  double precision = 0, recall = 0, f = 0;
};

enum class RougeMultiRef { kAverage, kBest };  // ROUGE-1.5.5 -f A, -f B

RougeCounts rouge_n_counts(const RougeSummary& peer, const std::vector<RougeSummary>& models, int n,
                           RougeMultiRef multi = RougeMultiRef::kAverage);
RougeCounts rouge_l_counts(const RougeSummary& peer, const std::vector<RougeSummary>& models,
                           RougeMultiRef multi = RougeMultiRef::kAverage);

// F = P R / ((1 - alpha) P + alpha R); 0 when P and R are 0.
RougePRF rouge_prf(const RougeCounts& c, double alpha = 0.5);
// The same with ROUGE-1.5.5's per-example rounding to 5 decimals.
RougePRF rouge155_prf(const RougeCounts& c, double alpha = 0.5);

struct RougeAverage {
  RougePRF average;          // ROUGE-1.5.5's printed Average_R/P/F (bootstrap mean, 5 d.p.)
  RougePRF ci_low, ci_high;  // its confidence interval bounds (5 d.p.)
  RougePRF mean;             // plain arithmetic mean of the per-example scores (unrounded)
};

// ROUGE-1.5.5's computeAverages() for per-example scores given in evaluation order (example i
// is ROUGE's evaluation i+1).
RougeAverage rouge155_average(const std::vector<RougePRF>& per_example, int resamples = 1000,
                              double confidence = 95.0);

struct RougeOptions {
  int max_n = 2;  // ROUGE-1 .. ROUGE-max_n
  bool lcs = true;
  bool stem = false;  // ROUGE-1.5.5 -m
  double alpha = 0.5;
  RougeMultiRef multi = RougeMultiRef::kAverage;
  int resamples = 1000;
  double confidence = 95.0;
};

struct RougeReport {
  std::vector<std::string> names;                  // "rouge1", "rouge2", ..., "rougeL"
  std::vector<std::vector<RougePRF>> per_example;  // [metric][example], ROUGE-1.5.5-rounded
  std::vector<RougeAverage> averages;              // [metric]
};

// Scores every hypothesis against its references. `ref_streams[k][i]` is the k-th reference of
// hypothesis i; empty references are left out of that example (an example whose references are
// all empty scores 0).
RougeReport corpus_rouge(const std::vector<std::string>& hyps,
                         const std::vector<std::vector<std::string>>& ref_streams,
                         const RougeOptions& opt = {});

}  // namespace rs::eval
