#include "eval/chrf.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "eval/text.h"

namespace rs::eval {
namespace {

using CharCounts = std::unordered_map<std::u32string, int64_t>;
using WordCounts = std::unordered_map<std::string, int64_t>;

struct SegmentNgrams {
  std::vector<CharCounts> chars;  // orders 1..char_order
  std::vector<WordCounts> words;  // orders 1..word_order
};

// The punctuation chrF++ splits off words: Python's string.punctuation.
bool is_ascii_punct(char32_t c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// chrF++'s primitive word tokenizer: one leading or trailing punctuation mark becomes its own
// word (a trailing one wins, so "(hi)" gives "(hi" and ")" as in sacrebleu issue #124).
std::vector<std::string> words_for_chrf(const std::string& sent) {
  std::vector<std::string> out;
  for (const auto& w : split_ws(sent)) {
    const std::u32string cps = to_u32(w);
    if (cps.size() == 1) {
      out.push_back(w);
    } else if (is_ascii_punct(cps.back())) {
      out.push_back(to_utf8(std::u32string_view(cps).substr(0, cps.size() - 1)));
      out.push_back(to_utf8(std::u32string_view(cps).substr(cps.size() - 1)));
    } else if (is_ascii_punct(cps.front())) {
      out.push_back(to_utf8(std::u32string_view(cps).substr(0, 1)));
      out.push_back(to_utf8(std::u32string_view(cps).substr(1)));
    } else {
      out.push_back(w);
    }
  }
  return out;
}

SegmentNgrams extract(const std::string& raw, const ChrfOptions& opt) {
  const std::string sent = opt.lowercase ? py_lower(raw) : raw;
  SegmentNgrams g;
  std::u32string line;
  if (opt.whitespace) {
    line = to_u32(sent);
  } else {
    for (const auto& w : split_ws(sent)) line += to_u32(w);
  }
  for (int n = 1; n <= opt.char_order; ++n) {
    CharCounts c;
    const auto len = static_cast<int>(line.size());
    for (int i = 0; i + n <= len; ++i)
      ++c[line.substr(static_cast<size_t>(i), static_cast<size_t>(n))];
    g.chars.push_back(std::move(c));
  }
  if (opt.word_order > 0) {
    const auto words = words_for_chrf(sent);
    const auto len = static_cast<int>(words.size());
    for (int n = 1; n <= opt.word_order; ++n) {
      WordCounts c;
      for (int i = 0; i + n <= len; ++i) {
        std::string key = words[static_cast<size_t>(i)];
        for (int j = 1; j < n; ++j) key += ' ' + words[static_cast<size_t>(i + j)];
        ++c[key];
      }
      g.words.push_back(std::move(c));
    }
  }
  return g;
}

// [hypothesis count, reference count, matches] for one order. A hypothesis n-gram counts only
// when the reference has n-grams of that order at all (sacrebleu's rule).
template <typename Map>
void match_stats(const Map& hyp, const Map& ref, std::vector<int64_t>& out) {
  int64_t hyp_count = 0, match = 0, ref_count = 0;
  for (const auto& [ng, c] : hyp) {
    hyp_count += c;
    if (auto it = ref.find(ng); it != ref.end()) match += std::min(c, it->second);
  }
  for (const auto& [ng, c] : ref) ref_count += c;
  out.push_back(ref.empty() ? 0 : hyp_count);
  out.push_back(ref_count);
  out.push_back(match);
}

}  // namespace

ChrfStats& ChrfStats::operator+=(const ChrfStats& o) {
  if (values.size() < o.values.size()) values.resize(o.values.size(), 0);
  for (size_t i = 0; i < o.values.size(); ++i) values[i] += o.values[i];
  return *this;
}

double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& opt) {
  const auto order = static_cast<size_t>(opt.char_order + opt.word_order);
  RS_CHECK(stats.values.size() == 3 * order, "chrF statistics: expected {} values, got {}",
           3 * order, stats.values.size());
  const double eps = 1e-16;
  const double factor = static_cast<double>(opt.beta) * opt.beta;
  double score = 0.0, avg_prec = 0.0, avg_rec = 0.0;
  int effective_order = 0;
  for (size_t i = 0; i < order; ++i) {
    const auto n_hyp = static_cast<double>(stats.values[3 * i]);
    const auto n_ref = static_cast<double>(stats.values[3 * i + 1]);
    const auto n_match = static_cast<double>(stats.values[3 * i + 2]);
    const double prec = n_hyp > 0 ? n_match / n_hyp : eps;
    const double rec = n_ref > 0 ? n_match / n_ref : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (opt.eps_smoothing) return 100 * score / static_cast<double>(order);
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec == 0) return 0.0;
  score = (1 + factor) * avg_prec * avg_rec;
  score /= (factor * avg_prec) + avg_rec;
  return 100 * score;
}

ChrfStats chrf_segment_stats(const std::string& hyp, const std::vector<std::string>& refs,
                             const ChrfOptions& opt) {
  RS_CHECK(opt.char_order >= 0 && opt.word_order >= 0 && opt.char_order + opt.word_order > 0,
           "chrF needs a positive character or word n-gram order");
  RS_CHECK(!refs.empty(), "chrF needs at least one reference");
  const SegmentNgrams h = extract(hyp, opt);
  ChrfStats best;
  double best_f = -1.0;
  for (const auto& ref : refs) {
    const SegmentNgrams r = extract(ref, opt);
    ChrfStats s;
    for (size_t n = 0; n < h.chars.size(); ++n) match_stats(h.chars[n], r.chars[n], s.values);
    for (size_t n = 0; n < h.words.size(); ++n) match_stats(h.words[n], r.words[n], s.values);
    const double f = chrf_from_stats(s, opt);
    if (f > best_f) {
      best_f = f;
      best = std::move(s);
    }
  }
  return best;
}

double corpus_chrf(const std::vector<std::string>& hyps,
                   const std::vector<std::vector<std::string>>& ref_streams,
                   const ChrfOptions& opt) {
  RS_CHECK(!ref_streams.empty(), "chrF needs at least one reference stream");
  for (size_t k = 0; k < ref_streams.size(); ++k)
    RS_CHECK(ref_streams[k].size() == hyps.size(),
             "reference stream {} has {} segments but there are {} hypotheses", k + 1,
             ref_streams[k].size(), hyps.size());
  ChrfStats total;
  total.values.assign(3 * static_cast<size_t>(opt.char_order + opt.word_order), 0);
  std::vector<std::string> refs;
  for (size_t i = 0; i < hyps.size(); ++i) {
    // Empty references are dropped per segment, as sacrebleu does for every metric.
    refs.clear();
    for (const auto& stream : ref_streams)
      if (!stream[i].empty()) refs.push_back(stream[i]);
    RS_CHECK(!refs.empty(), "segment {}: every reference is empty", i + 1);
    total += chrf_segment_stats(hyps[i], refs, opt);
  }
  return chrf_from_stats(total, opt);
}

double sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                     const ChrfOptions& opt) {
  return chrf_from_stats(chrf_segment_stats(hyp, refs, opt), opt);
}

std::string chrf_signature(const ChrfOptions& opt, int nrefs) {
  return fmt::format("nrefs:{}|case:{}|eff:{}|nc:{}|nw:{}|space:{}|version:rightsize", nrefs,
                     opt.lowercase ? "lc" : "mixed", opt.eps_smoothing ? "no" : "yes",
                     opt.char_order, opt.word_order, opt.whitespace ? "yes" : "no");
}

}  // namespace rs::eval
