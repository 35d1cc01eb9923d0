#include "router/oos_threshold.h"

#include <algorithm>
#include <cmath>
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
                           std::span<const int> gold, int oos_class, double target_recall) {
  if (oos_class < 0 || std::find(gold.begin(), gold.end(), oos_class) == gold.end()) return 0;
  // Candidates: 0 and just above each out-of-scope row's confidence (the threshold then
  // catches that row); recall only changes there.
  std::vector<float> cand = {0.0f};
  for (size_t i = 0; i < conf.size(); ++i)
    if (gold[i] == oos_class && pred[i] != oos_class) cand.push_back(std::nextafter(conf[i], 2.0f));
  std::sort(cand.begin(), cand.end());
  float best_t = 0;
  double best_recall = -1;
  for (float t : cand) {
    const double recall = scope_metrics(pred, conf, gold, oos_class, t).oos_recall;
    if (recall >= target_recall) return t;
    if (recall > best_recall) best_recall = recall, best_t = t;
  }
  return std::min(best_t, 1.0f);
}

}  // namespace rs::router
