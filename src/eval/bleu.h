// BLEU exactly as sacrebleu 2.x computes it (Post 2018, "A Call for Clarity in Reporting BLEU
// Scores"): tokenize (13a by default), count clipped n-grams up to order 4 against the maximum
// count over the references, take the closest reference length (the shorter one on a tie) for
// the brevity penalty, and combine the precisions geometrically with optional smoothing.
// Scores are on sacrebleu's 0-100 scale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/bleu_tokenizers.h"

namespace rs::eval {

// Smoothing of zero n-gram matches (Chen & Cherry 2014): none; floor = method 1 (a zero count
// becomes `value`, default 0.1); add-k = method 2 (add `value`, default 1, to the counts and
// totals of orders >= 2); exp = method 3, NIST's (the k-th zero precision becomes 1/(2^k total)).
enum class BleuSmooth { kNone, kFloor, kAddK, kExp };
std::optional<BleuSmooth> parse_bleu_smooth(std::string_view name);  // none|floor|add-k|exp
const char* bleu_smooth_name(BleuSmooth s);

struct BleuOptions {
  BleuTokenizer tokenize = BleuTokenizer::k13a;
  BleuSmooth smooth = BleuSmooth::kExp;
  std::optional<double> smooth_value;  // nullopt: the method's default
  bool lowercase = false;              // Python str.lower() before tokenizing
  int max_ngram_order = 4;
  // Stop at the highest order the hypothesis has n-grams of, instead of scoring a missing order
  // as zero. sacrebleu's sentence_bleu() turns this on; corpus BLEU leaves it off.
  bool effective_order = false;
};

// Sufficient statistics: summing them over segments and scoring the sum is corpus BLEU.
struct BleuStats {
  int64_t sys_len = 0, ref_len = 0;
  std::vector<int64_t> counts, totals;  // matched and hypothesis n-grams, per order 1..N
  BleuStats& operator+=(const BleuStats& o);
};

struct BleuScore {
  double score = 0;  // 0-100
  std::vector<int64_t> counts, totals;
  std::vector<double> precisions;  // 0-100, after smoothing
  double bp = 0;                   // brevity penalty
  int64_t sys_len = 0, ref_len = 0;
};

// BLEU from sufficient statistics (sacrebleu's BLEU.compute_bleu).
BleuScore bleu_from_stats(const BleuStats& stats, BleuSmooth smooth,
                          std::optional<double> smooth_value = std::nullopt,
                          bool effective_order = false);

// Statistics of one hypothesis against its references. Empty references are ignored, as
// sacrebleu does; rs::Error when every reference is empty.
BleuStats bleu_segment_stats(const std::string& hyp, const std::vector<std::string>& refs,
                             const BleuOptions& opt);

// Corpus BLEU. `ref_streams[k][i]` is the k-th reference of hypothesis i (sacrebleu's layout:
// one stream per reference file); every stream has one line per hypothesis (rs::Error if not).
BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& opt = {});

// Sentence BLEU with sacrebleu's sentence_bleu() defaults (13a, exp smoothing, effective order
// on), or with explicit options (set effective_order yourself: sacrebleu recommends it).
BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs);
BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuOptions& opt);

// The reproducibility signature in sacrebleu's format, e.g.
// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:rightsize".
std::string bleu_signature(const BleuOptions& opt, int nrefs);

}  // namespace rs::eval
