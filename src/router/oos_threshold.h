// The out-of-scope decision on held-out data: how well a confidence threshold separates
// in-scope from out-of-scope queries, and the threshold to use.
//
// A query is called out of scope when its arg-max class is the oos class or its calibrated
// confidence is below the threshold. The threshold is the one that maximises the mean of
// in-scope accuracy and out-of-scope recall (each group weighs half, whatever its size), the two
// figures CLINC150 (Larson et al. 2019) reports; ties go to the lowest threshold.
#pragma once

#include <cstdint>
#include <span>

namespace rs::router {

struct ScopeMetrics {
  double in_scope_accuracy = 0;  // right class and not called out of scope, over in-scope rows
  double oos_recall = 0;         // called out of scope, over out-of-scope rows
  double oos_precision = 0;      // out-of-scope rows among those called out of scope
  int64_t n_in_scope = 0, n_oos = 0;
};

// pred: arg-max class per row; conf: its confidence; gold: true class (oos_class for
// out-of-scope rows; oos_class may be -1 when the data has none).
ScopeMetrics scope_metrics(std::span<const int> pred, std::span<const float> conf,
                           std::span<const int> gold, int oos_class, float threshold);

// The lowest threshold with oos recall >= target_recall on these rows (the highest recall
// reachable when none meets it); 0 when there are no out-of-scope rows.
float choose_oos_threshold(std::span<const int> pred, std::span<const float> conf,
                           std::span<const int> gold, int oos_class, double target_recall);

}  // namespace rs::router
