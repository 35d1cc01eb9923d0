// Classification metrics for single-label predictions: accuracy, micro/macro/weighted
// precision-recall-F1, per-class scores, the confusion matrix, and out-of-scope detection
// (CLINC150's "oos" label: Larson et al. 2019 report in-scope accuracy and out-of-scope recall).
// Conventions follow scikit-learn's classification_report: the label set is the sorted union of
// gold and predicted labels, a ratio with a zero denominator is 0, "weighted" weights each class
// by its gold support.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rs::eval {

struct PRF1 {
  double precision = 0, recall = 0, f1 = 0;
};

struct ClassScore {
  std::string label;
  int64_t support = 0;    // gold examples of this class
  int64_t predicted = 0;  // predictions of this class
  int64_t correct = 0;    // true positives
  PRF1 score;
};

struct OosScore {
  std::string label;
  PRF1 score;                    // of the out-of-scope label itself
  double in_scope_accuracy = 0;  // accuracy on the examples whose gold label is not `label`
  int64_t support = 0;           // gold out-of-scope examples
  int64_t in_scope_support = 0;
};

struct ClassificationReport {
  int64_t n = 0;
  double accuracy = 0;
  PRF1 micro, macro, weighted;
  std::vector<std::string> labels;              // sorted
  std::vector<ClassScore> per_class;            // in `labels` order
  std::vector<std::vector<int64_t>> confusion;  // [gold][predicted], in `labels` order
  std::optional<OosScore> oos;
};

// rs::Error when the two lists differ in length or are empty.
ClassificationReport classification_report(const std::vector<std::string>& gold,
                                           const std::vector<std::string>& predicted,
                                           const std::optional<std::string>& oos_label = {});

}  // namespace rs::eval
