// Training an intent classifier from labeled text (what `rightsize train-router` runs):
//   1. held-out data: the validation rows given, or a seeded stratified share of train;
//   2. features fitted on the training part only (TF-IDF buckets and IDF, or bert embeddings);
//   3. a softmax head per L2 strength of a small grid (in parallel); the best held-out accuracy
//      wins; then a one-vs-rest linear SVM head (train/linear_svm.h) and the ensemble of the two
//      (calibrated logits averaged: still one linear head); the best held-out accuracy of
//      softmax, SVM and ensemble is kept;
//   4. on the held-out rows: the temperature (calibrated confidence) and the out-of-scope
//      threshold (router/oos_threshold.h);
//   5. optionally (default) features and head(s) refitted on train + held-out rows with the chosen
//      L2 and C (and the ensemble's per-head temperatures), keeping the temperature and threshold
//      from step 4.
// The language-model back end (opt.lm.model set) trains nothing: the labels are opt.labels or
// those of the training rows (which may then be empty), and the validation rows, when given,
// choose the temperature and the out-of-scope threshold (else 1 and 0).
// Test data never enters here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "router/intent_classifier.h"
#include "router/oos_threshold.h"
#include "train/labeled_text.h"

namespace rs::router {

struct RouterTrainOptions {
  std::string embedder;             // bert GGUF for the embedding back end; "" = TF-IDF
  LmScoring lm;                     // lm.model: a generative GGUF for the language-model back end
  std::vector<std::string> labels;  // language model: the label set ("" = the training labels)
  train::TextFeatureConfig features;
  std::vector<double> l2_grid = {1e-6, 3e-6, 1e-5, 3e-5};
  int epochs = 15;
  bool svm = true;     // also train the SVM head and consider it and the ensemble
  double svm_c = 3.0;  // its cost (chosen on held-out rows of Banking77 and CLINC150)
  double learning_rate = 1.5;
  double holdout = 0.15;     // share of train held out when no validation rows are given
  double oos_recall = 0.78;  // held-out out-of-scope recall the threshold must reach
  bool refit = true;
  uint64_t seed = 1;
  int threads = 2;
  // Called as work completes (from any training thread, serialised): done of total epochs.
  std::function<void(int64_t done, int64_t total)> progress;
};

enum class HeadKind { kSoftmax, kSvm, kEnsemble };

struct RouterTrainReport {
  int64_t n_train = 0, n_heldout = 0;  // rows in the tuning fit and held out
  bool carved = false;                 // held-out rows came from train
  uint32_t n_classes = 0, n_features = 0;
  bool has_oos = false;
  double l2 = 0, temperature = 1, threshold = 0;
  std::vector<std::pair<double, double>> grid;  // (l2, held-out arg-max accuracy)
  double heldout_accuracy = 0;                  // arg-max, the head kept
  double softmax_accuracy = 0, svm_accuracy = 0, ensemble_accuracy = 0;  // arg-max, held out
  HeadKind head = HeadKind::kSoftmax;
  double heldout_nll_before = 0, heldout_nll_after = 0;  // temperature 1 vs fitted
  ScopeMetrics heldout_scope;                            // with the threshold
  double seconds = 0;
};

// rs::Error for fewer than 2 labels or a validation label that train (or opt.labels) lacks.
IntentClassifier train_router(const std::vector<train::LabeledText>& train,
                              const std::vector<train::LabeledText>& validation,
                              const RouterTrainOptions& opt, RouterTrainReport* report = nullptr);

}  // namespace rs::router
