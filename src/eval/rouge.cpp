#include "eval/rouge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "eval/porter.h"
#include "eval/wordnet_exceptions.h"

namespace rs::eval {
namespace {

using Counts = std::unordered_map<std::string, int64_t>;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// ROUGE-1.5.5's MorphStem: WordNet's irregular forms first, the Porter stemmer otherwise.
std::string morph_stem(const std::string& token) {
  if (const auto base = wordnet_exception(token)) return std::string(*base);
  return rouge155_porter_stem(token);
}

// ROUGE-1.5.5 lowercases A-Z, turns everything but [A-Za-z0-9-] into spaces, pads '-' with
// spaces and then drops tokens that do not start with [a-z0-9$]: what is left are exactly the
// runs of ASCII letters and digits. It works on bytes, so non-ASCII characters separate tokens.
std::vector<std::string> tokenize_sentence(std::string_view s, bool stem) {
  std::vector<std::string> out;
  std::string tok;
  auto flush = [&] {
    if (tok.empty()) return;
    // Only tokens longer than 3 characters are stemmed (ROUGE-1.5.5's rule).
    out.push_back(stem && tok.size() > 3 ? morph_stem(tok) : tok);
    tok.clear();
  };
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (is_alnum(c))
      tok += c;
    else
      flush();
  }
  flush();
  return out;
}

std::vector<std::string> all_tokens(const RougeSummary& s) {
  std::vector<std::string> out;
  for (const auto& sent : s) out.insert(out.end(), sent.begin(), sent.end());
  return out;
}

Counts ngram_counts(const std::vector<std::string>& tokens, int n, int64_t& total) {
  Counts c;
  total = 0;
  const auto len = static_cast<int64_t>(tokens.size());
  for (int64_t i = 0; i + n <= len; ++i) {
    std::string key = tokens[static_cast<size_t>(i)];
    for (int j = 1; j < n; ++j) {
      key += ' ';
      key += tokens[static_cast<size_t>(i + j)];
    }
    ++c[key];
    ++total;
  }
  return c;
}

// "%7.5f" and back: ROUGE-1.5.5 keeps its scores as formatted strings, so every later step
// works on the rounded values.
double round5(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f", x);
  return std::strtod(buf, nullptr);
}

// Marks the model positions of one LCS between `model` and `peer`, following ROUGE-1.5.5's
// backtrace (on a tie it moves up, i.e. drops a model token first), because the union over
// several peer sentences depends on which of the equally long LCSs is chosen.
void mark_lcs(const std::vector<std::string>& model, const std::vector<std::string>& peer,
              std::vector<char>& hit) {
  const size_t m = model.size(), n = peer.size();
  if (m == 0 || n == 0) return;
  enum : uint8_t { kDiag, kUp, kLeft };
  std::vector<int32_t> c((m + 1) * (n + 1), 0);
  std::vector<uint8_t> b((m + 1) * (n + 1), kUp);
  auto at = [n](size_t i, size_t j) { return i * (n + 1) + j; };
  for (size_t i = 1; i <= m; ++i) {
    for (size_t j = 1; j <= n; ++j) {
      if (model[i - 1] == peer[j - 1]) {
        c[at(i, j)] = c[at(i - 1, j - 1)] + 1;
        b[at(i, j)] = kDiag;
      } else if (c[at(i - 1, j)] >= c[at(i, j - 1)]) {
        c[at(i, j)] = c[at(i - 1, j)];
        b[at(i, j)] = kUp;
      } else {
        c[at(i, j)] = c[at(i, j - 1)];
        b[at(i, j)] = kLeft;
      }
    }
  }
  for (size_t i = m, j = n; i != 0 && j != 0;) {
    switch (b[at(i, j)]) {
      case kDiag:
        --i;
        --j;
        hit[i] = 1;
        break;
      case kUp:
        --i;
        break;
      default:
        --j;
        break;
    }
  }
}

// Summary-level LCS against one model: the union LCS of each model sentence with all peer
// sentences, with every hit also spending one unigram on each side so that no word counts twice.
RougeCounts lcs_one_model(const RougeSummary& peer, const RougeSummary& model,
                          const Counts& peer_unigrams, int64_t peer_total) {
  int64_t model_total = 0;
  Counts model_left = ngram_counts(all_tokens(model), 1, model_total);
  Counts peer_left = peer_unigrams;
  RougeCounts r;
  r.peer = peer_total;
  for (const auto& msent : model) {
    std::vector<char> hit(msent.size(), 0);
    r.model += static_cast<int64_t>(msent.size());
    for (const auto& psent : peer) mark_lcs(msent, psent, hit);
    for (size_t j = 0; j < msent.size(); ++j) {
      if (!hit[j]) continue;
      auto m = model_left.find(msent[j]);
      auto p = peer_left.find(msent[j]);
      if (m != model_left.end() && p != peer_left.end() && m->second > 0 && p->second > 0) {
        ++r.hit;
        --m->second;
        --p->second;
      }
    }
  }
  return r;
}

// "-f A" sums the counts over the models; "-f B" keeps the model with the best `score`.
template <typename ScoreFn>
void combine(RougeCounts& acc, double& best, const RougeCounts& one, RougeMultiRef multi,
             ScoreFn score) {
  if (multi == RougeMultiRef::kAverage) {
    acc.hit += one.hit;
    acc.model += one.model;
    acc.peer += one.peer;
  } else {
    const double s = score(one);
    if (s > best) {
      best = s;
      acc = one;
    }
  }
}

}  // namespace

RougeSummary rouge_tokenize(std::string_view text, bool stem) {
  RougeSummary out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (!line.empty()) out.push_back(tokenize_sentence(line, stem));
    start = end + 1;
  }
  return out;
}

RougeCounts rouge_n_counts(const RougeSummary& peer, const std::vector<RougeSummary>& models, int n,
                           RougeMultiRef multi) {
  RS_CHECK(n >= 1, "ROUGE-N needs n >= 1 (got {})", n);
  int64_t peer_total = 0;
  const Counts peer_grams = ngram_counts(all_tokens(peer), n, peer_total);
  RougeCounts acc;
  double best = -1;
  for (const auto& model : models) {
    RougeCounts one;
    const Counts model_grams = ngram_counts(all_tokens(model), n, one.model);
    one.peer = peer_total;
    for (const auto& [g, c] : model_grams)
      if (auto it = peer_grams.find(g); it != peer_grams.end()) one.hit += std::min(c, it->second);
    // "-f B" compares the recall as ROUGE-1.5.5 formats it ("%07.5f"), 0 for an empty model.
    combine(acc, best, one, multi, [](const RougeCounts& x) {
      return x.model != 0 ? round5(static_cast<double>(x.hit) / static_cast<double>(x.model)) : 0.0;
    });
  }
  return acc;
}

RougeCounts rouge_l_counts(const RougeSummary& peer, const std::vector<RougeSummary>& models,
                           RougeMultiRef multi) {
  int64_t peer_total = 0;
  const Counts peer_unigrams = ngram_counts(all_tokens(peer), 1, peer_total);
  RougeCounts acc;
  double best = -1;
  for (const auto& model : models) {
    combine(acc, best, lcs_one_model(peer, model, peer_unigrams, peer_total), multi,
            [](const RougeCounts& x) {
              return x.model > 0 ? static_cast<double>(x.hit) / static_cast<double>(x.model) : 0.0;
            });
  }
  return acc;
}

RougePRF rouge_prf(const RougeCounts& c, double alpha) {
  RougePRF r;
  r.recall = c.model > 0 ? static_cast<double>(c.hit) / static_cast<double>(c.model) : 0.0;
  r.precision = c.peer > 0 ? static_cast<double>(c.hit) / static_cast<double>(c.peer) : 0.0;
  const double denom = (1 - alpha) * r.precision + alpha * r.recall;
  r.f = denom > 0 ? r.precision * r.recall / denom : 0.0;
  return r;
}

RougePRF rouge155_prf(const RougeCounts& c, double alpha) {
  RougePRF r;
  r.recall = c.model != 0 ? round5(static_cast<double>(c.hit) / static_cast<double>(c.model)) : 0.0;
  r.precision =
      c.peer != 0 ? round5(static_cast<double>(c.hit) / static_cast<double>(c.peer)) : 0.0;
  const double denom = (1 - alpha) * r.precision + alpha * r.recall;
  r.f = denom > 0 ? round5((r.precision * r.recall) / denom) : 0.0;
  return r;
}

RougeAverage rouge155_average(const std::vector<RougePRF>& per_example, int resamples,
                              double confidence) {
  RS_CHECK(resamples >= 1, "ROUGE bootstrap needs at least one resample");
  RS_CHECK(confidence >= 0 && confidence <= 100, "confidence must be within 0 and 100");
  RougeAverage out;
  const size_t n = per_example.size();
  if (n == 0) return out;
  for (const auto& s : per_example) {
    out.mean.recall += s.recall;
    out.mean.precision += s.precision;
    out.mean.f += s.f;
  }
  out.mean.recall /= static_cast<double>(n);
  out.mean.precision /= static_cast<double>(n);
  out.mean.f /= static_cast<double>(n);

  // ROUGE-1.5.5 resamples its evaluations in Perl's string order of their ids "<i>.<peer>".
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = std::to_string(i + 1) + ".1";
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });

  // Resample r uses srand(r) and rand(n); Perl (5.20 and later) implements both with its own
  // drand48: x' = (0x5DEECE66D x + 0xB) mod 2^48, seeded x = 0x330E + (seed << 16).
  const auto n_res = static_cast<size_t>(resamples);
  std::vector<double> samples[3];
  for (auto& v : samples) v.reserve(n_res);
  for (size_t r = 0; r < n_res; ++r) {
    uint64_t x = 0x330Eull + (static_cast<uint64_t>(static_cast<uint32_t>(r)) << 16);
    double sum[3] = {0, 0, 0};
    for (size_t k = 0; k < n; ++k) {
      x = (x * 0x5DEECE66Dull + 0xBull) & 0xFFFFFFFFFFFFull;
      const auto pick =
          static_cast<size_t>(std::ldexp(static_cast<double>(x), -48) * static_cast<double>(n));
      const RougePRF& s = per_example[order[std::min(pick, n - 1)]];
      sum[0] += s.recall;  // ROUGE-1.5.5 keeps [R, P, F] in this order
      sum[1] += s.precision;
      sum[2] += s.f;
    }
    for (int t = 0; t < 3; ++t) samples[t].push_back(sum[t] / static_cast<double>(n));
  }
  const double delta = static_cast<double>(resamples) * ((100 - confidence) / 2.0) / 100.0;
  const auto ci_ua = static_cast<int64_t>(static_cast<double>(resamples) - delta - 1);
  const auto ci_la = static_cast<int64_t>(delta);
  const double ci_r = static_cast<double>(resamples) - delta - 1 - static_cast<double>(ci_ua);
  auto at = [&](const std::vector<double>& v, int64_t i) {
    return v[static_cast<size_t>(std::clamp<int64_t>(i, 0, resamples - 1))];
  };
  double avg[3], lo[3], hi[3];
  for (int t = 0; t < 3; ++t) {
    auto& v = samples[t];
    std::sort(v.begin(), v.end());
    double total = 0;
    for (double s : v) total += s;
    avg[t] = round5(total / static_cast<double>(resamples));
    lo[t] = round5(at(v, ci_la) + (at(v, ci_la + 1) - at(v, ci_la)) * ci_r);
    hi[t] = round5(at(v, ci_ua) + (at(v, ci_ua + 1) - at(v, ci_ua)) * ci_r);
  }
  out.average = {avg[1], avg[0], avg[2]};
  out.ci_low = {lo[1], lo[0], lo[2]};
  out.ci_high = {hi[1], hi[0], hi[2]};
  return out;
}

RougeReport corpus_rouge(const std::vector<std::string>& hyps,
                         const std::vector<std::vector<std::string>>& ref_streams,
                         const RougeOptions& opt) {
  RS_CHECK(opt.max_n >= 0, "ROUGE-N order must not be negative");
  RS_CHECK(!ref_streams.empty(), "ROUGE needs at least one reference stream");
  for (size_t k = 0; k < ref_streams.size(); ++k)
    RS_CHECK(ref_streams[k].size() == hyps.size(),
             "reference stream {} has {} segments but there are {} hypotheses", k + 1,
             ref_streams[k].size(), hyps.size());
  RougeReport rep;
  for (int n = 1; n <= opt.max_n; ++n) rep.names.push_back("rouge" + std::to_string(n));
  if (opt.lcs) rep.names.push_back("rougeL");
  rep.per_example.assign(rep.names.size(), {});
  for (auto& v : rep.per_example) v.reserve(hyps.size());

  std::vector<RougeSummary> models;
  for (size_t i = 0; i < hyps.size(); ++i) {
    const RougeSummary peer = rouge_tokenize(hyps[i], opt.stem);
    models.clear();
    for (const auto& stream : ref_streams)
      if (!stream[i].empty()) models.push_back(rouge_tokenize(stream[i], opt.stem));
    size_t m = 0;
    for (int n = 1; n <= opt.max_n; ++n)
      rep.per_example[m++].push_back(
          rouge155_prf(rouge_n_counts(peer, models, n, opt.multi), opt.alpha));
    if (opt.lcs)
      rep.per_example[m].push_back(
          rouge155_prf(rouge_l_counts(peer, models, opt.multi), opt.alpha));
  }
  for (const auto& v : rep.per_example)
    rep.averages.push_back(rouge155_average(v, opt.resamples, opt.confidence));
  return rep;
}

}  // namespace rs::eval
