#include "router/oos_threshold.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace rs::router {

ScopeMetrics scope_metrics(std::span<const int> pred, std::span<const float> conf,
                           std::span<const int> gold, int oos_class, float threshold) {
  RS_CHECK(pred.size() == conf.size() && pred.size() == gold.size(),
           "scope metrics: {} predictions, {} confidences, {} labels", pred.size(), conf.size(),
           gold.size());
  ScopeMetrics m;
  int64_t in_right = 0, oos_hit = 0, called_oos = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const bool called = pred[i] == oos_class || conf[i] < threshold;
    called_oos += called;
    if (oos_class >= 0 && gold[i] == oos_class) {
      ++m.n_oos;
      oos_hit += called;
    } else {
      ++m.n_in_scope;
      in_right += !called && pred[i] == gold[i];
    }
  }
  auto ratio = [](int64_t a, int64_t b) { return b ? static_cast<double>(a) / b : 0.0; };
  m.in_scope_accuracy = ratio(in_right, m.n_in_scope);
  m.oos_recall = ratio(oos_hit, m.n_oos);
  m.oos_precision = ratio(oos_hit, called_oos);
  return m;
}

float choose_oos_threshold(std::span<const int> pred, std::span<const float> conf,
                           std::span<const int> gold, int oos_class) {
  if (oos_class < 0 || std::find(gold.begin(), gold.end(), oos_class) == gold.end()) return 0;
  // Candidates: 0 and every confidence seen (a threshold equal to a row's confidence keeps it).
  std::vector<float> cand(conf.begin(), conf.end());
  cand.push_back(0);
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
  float best_t = 0;
  double best = -1;
  for (float t : cand) {
    const ScopeMetrics m = scope_metrics(pred, conf, gold, oos_class, t);
    const double score = (m.in_scope_accuracy + m.oos_recall) / 2;
    if (score > best) best = score, best_t = t;
  }
  return best_t;
}

}  // namespace rs::router
