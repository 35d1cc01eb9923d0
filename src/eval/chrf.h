// chrF and chrF++ exactly as sacrebleu 2.x computes them (Popović 2015, 2017): character n-grams
// of orders 1..6 with all whitespace removed, optionally word n-grams of orders 1..2 (chrF++),
// per-order precision and recall averaged over the orders both sides have, and F-beta with
// beta = 2. With several references each segment keeps the statistics of its best-scoring one.
// Scores are on sacrebleu's 0-100 scale.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rs::eval {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2 gives chrF++
  int beta = 2;
  bool lowercase = false;   // Python str.lower()
  bool whitespace = false;  // keep whitespace inside character n-grams
  // chrF++.py-style epsilon smoothing instead of sacrebleu's effective-order averaging.
  bool eps_smoothing = false;
};

// Per order (characters first, then words): hypothesis n-grams, reference n-grams, matches.
struct ChrfStats {
  std::vector<int64_t> values;  // 3 * (char_order + word_order)
  ChrfStats& operator+=(const ChrfStats& o);
};

// The F score (0-100) of summed statistics (sacrebleu's CHRF._compute_f_score).
double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& opt = {});

// Statistics of one hypothesis against its best reference (rs::Error when `refs` is empty).
ChrfStats chrf_segment_stats(const std::string& hyp, const std::vector<std::string>& refs,
                             const ChrfOptions& opt = {});

// Corpus chrF: `ref_streams[k][i]` is the k-th reference of hypothesis i.
double corpus_chrf(const std::vector<std::string>& hyps,
                   const std::vector<std::vector<std::string>>& ref_streams,
                   const ChrfOptions& opt = {});

double sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                     const ChrfOptions& opt = {});

// "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:rightsize", as sacrebleu prints it.
std::string chrf_signature(const ChrfOptions& opt, int nrefs);

}  // namespace rs::eval
