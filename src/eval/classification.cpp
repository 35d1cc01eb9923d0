#include "eval/classification.h"

#include <map>

#include "core/error.h"

namespace rs::eval {
namespace {

double ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

PRF1 prf1(int64_t correct, int64_t predicted, int64_t support) {
  PRF1 r;
  r.precision = ratio(correct, predicted);
  r.recall = ratio(correct, support);
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  return r;
}

}  // namespace

ClassificationReport classification_report(const std::vector<std::string>& gold,
                                           const std::vector<std::string>& predicted,
                                           const std::optional<std::string>& oos_label) {
  RS_CHECK(gold.size() == predicted.size(), "{} gold labels but {} predictions", gold.size(),
           predicted.size());
  RS_CHECK(!gold.empty(), "no examples to score");
  ClassificationReport rep;
  rep.n = static_cast<int64_t>(gold.size());

  std::map<std::string, size_t> index;
  for (const auto& l : gold) index.emplace(l, 0);
  for (const auto& l : predicted) index.emplace(l, 0);
  for (auto& [label, i] : index) {
    i = rep.labels.size();
    rep.labels.push_back(label);
  }
  const size_t k = rep.labels.size();
  rep.confusion.assign(k, std::vector<int64_t>(k, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const size_t g = index.at(gold[i]), p = index.at(predicted[i]);
    ++rep.confusion[g][p];
    correct += g == p;
  }
  rep.accuracy = ratio(correct, rep.n);

  for (size_t c = 0; c < k; ++c) {
    ClassScore s;
    s.label = rep.labels[c];
    for (size_t o = 0; o < k; ++o) {
      s.support += rep.confusion[c][o];
      s.predicted += rep.confusion[o][c];
    }
    s.correct = rep.confusion[c][c];
    s.score = prf1(s.correct, s.predicted, s.support);
    rep.macro.precision += s.score.precision;
    rep.macro.recall += s.score.recall;
    rep.macro.f1 += s.score.f1;
    rep.weighted.precision += s.score.precision * static_cast<double>(s.support);
    rep.weighted.recall += s.score.recall * static_cast<double>(s.support);
    rep.weighted.f1 += s.score.f1 * static_cast<double>(s.support);
    rep.per_class.push_back(std::move(s));
  }
  const double nc = static_cast<double>(k);
  rep.macro = {rep.macro.precision / nc, rep.macro.recall / nc, rep.macro.f1 / nc};
  const double n = static_cast<double>(rep.n);
  rep.weighted = {rep.weighted.precision / n, rep.weighted.recall / n, rep.weighted.f1 / n};
  // Single-label: every wrong prediction is one false positive and one false negative, so micro
  // precision = micro recall = accuracy.
  rep.micro = prf1(correct, rep.n, rep.n);

  if (oos_label) {
    OosScore o;
    o.label = *oos_label;
    int64_t oos_pred = 0, oos_hit = 0, in_hit = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      const bool g = gold[i] == *oos_label, p = predicted[i] == *oos_label;
      o.support += g;
      o.in_scope_support += !g;
      oos_pred += p;
      oos_hit += g && p;
      in_hit += !g && gold[i] == predicted[i];
    }
    o.score = prf1(oos_hit, oos_pred, o.support);
    o.in_scope_accuracy = ratio(in_hit, o.in_scope_support);
    rep.oos = o;
  }
  return rep;
}

}  // namespace rs::eval
