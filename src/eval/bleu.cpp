#include "eval/bleu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "core/error.h"
#include "eval/text.h"

namespace rs::eval {
namespace {

using NgramCounts = std::unordered_map<std::string, int64_t>;

// Tokens never contain whitespace, so joining an n-gram with ' ' is an unambiguous key and keeps
// orders apart (an n-gram key holds exactly n-1 spaces).
NgramCounts count_ngrams(const std::vector<std::string>& tokens, int max_order) {
  NgramCounts counts;
  const auto n_tok = static_cast<int>(tokens.size());
  for (int n = 1; n <= max_order; ++n) {
    for (int i = 0; i + n <= n_tok; ++i) {
      std::string key = tokens[static_cast<size_t>(i)];
      for (int j = 1; j < n; ++j) {
        key += ' ';
        key += tokens[static_cast<size_t>(i + j)];
      }
      ++counts[key];
    }
  }
  return counts;
}

int ngram_order(const std::string& key) {
  return 1 + static_cast<int>(std::count(key.begin(), key.end(), ' '));
}

// sacrebleu's my_log: log(0) is a huge negative number instead of -inf, so a zero precision
// drives the score to exactly 0 without NaNs.
double my_log(double x) {
  return x == 0.0 ? -9999999999.0 : std::log(x);
}

std::string preprocess(const std::string& sent, const BleuOptions& opt) {
  const std::string lowered = opt.lowercase ? py_lower(sent) : sent;
  return bleu_tokenize(rstrip_ws(lowered), opt.tokenize);
}

double default_smooth_value(BleuSmooth s) {
  switch (s) {
    case BleuSmooth::kFloor:
      return 0.1;
    case BleuSmooth::kAddK:
      return 1.0;
    default:
      return 0.0;
  }
}

}  // namespace

std::optional<BleuSmooth> parse_bleu_smooth(std::string_view name) {
  if (name == "none") return BleuSmooth::kNone;
  if (name == "floor") return BleuSmooth::kFloor;
  if (name == "add-k") return BleuSmooth::kAddK;
  if (name == "exp") return BleuSmooth::kExp;
  return std::nullopt;
}

const char* bleu_smooth_name(BleuSmooth s) {
  switch (s) {
    case BleuSmooth::kNone:
      return "none";
    case BleuSmooth::kFloor:
      return "floor";
    case BleuSmooth::kAddK:
      return "add-k";
    case BleuSmooth::kExp:
      return "exp";
  }
  return "?";
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
  sys_len += o.sys_len;
  ref_len += o.ref_len;
  if (counts.size() < o.counts.size()) counts.resize(o.counts.size(), 0);
  if (totals.size() < o.totals.size()) totals.resize(o.totals.size(), 0);
  for (size_t i = 0; i < o.counts.size(); ++i) counts[i] += o.counts[i];
  for (size_t i = 0; i < o.totals.size(); ++i) totals[i] += o.totals[i];
  return *this;
}

BleuScore bleu_from_stats(const BleuStats& stats, BleuSmooth smooth,
                          std::optional<double> smooth_value, bool effective_order) {
  RS_CHECK(stats.counts.size() == stats.totals.size() && !stats.counts.empty(),
           "BLEU statistics need as many counts as totals (got {} and {})", stats.counts.size(),
           stats.totals.size());
  const double value = smooth_value ? *smooth_value : default_smooth_value(smooth);
  const size_t order = stats.counts.size();
  BleuScore r;
  r.counts = stats.counts;
  r.totals = stats.totals;
  r.sys_len = stats.sys_len;
  r.ref_len = stats.ref_len;
  if (stats.sys_len < stats.ref_len)
    r.bp = stats.sys_len > 0 ? std::exp(1.0 - static_cast<double>(stats.ref_len) /
                                                  static_cast<double>(stats.sys_len))
                             : 0.0;
  else
    r.bp = 1.0;
  r.precisions.assign(order, 0.0);

  // No match at any order: 0 whatever the smoothing (sacrebleu #141).
  if (std::all_of(stats.counts.begin(), stats.counts.end(), [](int64_t c) { return c == 0; })) {
    r.score = 0.0;
    return r;
  }
  // The arithmetic below follows sacrebleu's operation order so the doubles agree bit for bit.
  double smooth_mteval = 1.0;
  size_t eff_order = order;
  for (size_t n = 1; n <= order; ++n) {
    double correct = static_cast<double>(stats.counts[n - 1]);
    double total = static_cast<double>(stats.totals[n - 1]);
    if (smooth == BleuSmooth::kAddK && n > 1) {
      correct += value;
      total += value;
    }
    if (total == 0) break;
    if (effective_order) eff_order = n;
    double& p = r.precisions[n - 1];
    if (correct == 0) {
      if (smooth == BleuSmooth::kExp) {
        smooth_mteval *= 2;
        p = 100.0 / (smooth_mteval * total);
      } else if (smooth == BleuSmooth::kFloor) {
        p = 100.0 * value / total;
      }
    } else {
      p = 100.0 * correct / total;
    }
  }
  double log_sum = 0.0;
  for (size_t n = 0; n < eff_order; ++n) log_sum += my_log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / static_cast<double>(eff_order));
  return r;
}

BleuStats bleu_segment_stats(const std::string& hyp, const std::vector<std::string>& refs,
                             const BleuOptions& opt) {
  RS_CHECK(opt.max_ngram_order >= 1, "BLEU n-gram order must be at least 1");
  NgramCounts ref_max;
  std::vector<int64_t> ref_lens;
  for (const auto& ref : refs) {
    if (ref.empty()) continue;  // fewer references for this segment
    const auto tokens = split_ws(preprocess(ref, opt));
    ref_lens.push_back(static_cast<int64_t>(tokens.size()));
    for (auto& [key, c] : count_ngrams(tokens, opt.max_ngram_order)) {
      auto& m = ref_max[key];
      m = std::max(m, c);
    }
  }
  RS_CHECK(!ref_lens.empty(), "BLEU: every reference of this segment is empty");

  const auto hyp_tokens = split_ws(preprocess(hyp, opt));
  BleuStats s;
  s.sys_len = static_cast<int64_t>(hyp_tokens.size());
  // Closest reference length; the shorter one when two are equally close.
  int64_t best_diff = -1;
  for (int64_t len : ref_lens) {
    const int64_t diff = std::llabs(s.sys_len - len);
    if (best_diff == -1 || diff < best_diff) {
      best_diff = diff;
      s.ref_len = len;
    } else if (diff == best_diff && len < s.ref_len) {
      s.ref_len = len;
    }
  }
  const auto order = static_cast<size_t>(opt.max_ngram_order);
  s.counts.assign(order, 0);
  s.totals.assign(order, 0);
  for (const auto& [key, c] : count_ngrams(hyp_tokens, opt.max_ngram_order)) {
    const auto n = static_cast<size_t>(ngram_order(key) - 1);
    s.totals[n] += c;
    if (auto it = ref_max.find(key); it != ref_max.end()) s.counts[n] += std::min(c, it->second);
  }
  return s;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& opt) {
  RS_CHECK(!ref_streams.empty(), "BLEU needs at least one reference stream");
  for (size_t k = 0; k < ref_streams.size(); ++k)
    RS_CHECK(ref_streams[k].size() == hyps.size(),
             "reference stream {} has {} segments but there are {} hypotheses", k + 1,
             ref_streams[k].size(), hyps.size());
  BleuStats total;
  total.counts.assign(static_cast<size_t>(std::max(opt.max_ngram_order, 1)), 0);
  total.totals = total.counts;
  std::vector<std::string> refs(ref_streams.size());
  for (size_t i = 0; i < hyps.size(); ++i) {
    for (size_t k = 0; k < ref_streams.size(); ++k) refs[k] = ref_streams[k][i];
    try {
      total += bleu_segment_stats(hyps[i], refs, opt);
    } catch (const Error& e) {
      fail("segment {}: {}", i + 1, e.what());
    }
  }
  return bleu_from_stats(total, opt.smooth, opt.smooth_value, opt.effective_order);
}

BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuOptions& opt) {
  return bleu_from_stats(bleu_segment_stats(hyp, refs, opt), opt.smooth, opt.smooth_value,
                         opt.effective_order);
}

BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs) {
  BleuOptions opt;
  opt.effective_order = true;
  return sentence_bleu(hyp, refs, opt);
}

std::string bleu_signature(const BleuOptions& opt, int nrefs) {
  std::string smooth = bleu_smooth_name(opt.smooth);
  if (opt.smooth == BleuSmooth::kFloor || opt.smooth == BleuSmooth::kAddK)
    smooth += fmt::format("[{:.2f}]", opt.smooth_value.value_or(default_smooth_value(opt.smooth)));
  return fmt::format("nrefs:{}|case:{}|eff:{}|tok:{}|smooth:{}|version:rightsize", nrefs,
                     opt.lowercase ? "lc" : "mixed", opt.effective_order ? "yes" : "no",
                     bleu_tokenizer_name(opt.tokenize), smooth);
}

}  // namespace rs::eval
