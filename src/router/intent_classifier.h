// The router's intent classifier: text -> (intent label, calibrated confidence, out-of-scope).
//
// Two back ends share one linear softmax head (train/softmax_regression.h):
//   * tfidf:     hashed word and character n-gram TF-IDF features (train/text_features.h);
//                a few microseconds per query, no model needed;
//   * embedding: the pooled sentence embedding of a bert GGUF model (engine/loader.h).
// Confidence is softmax(logits / T) with the temperature T fitted on held-out data. A query is
// out of scope when the "oos" class wins (if the training data had one) or when the confidence is
// below the threshold chosen on held-out data.
//
// classify() is const and touches only the caller's Scratch, so one classifier can serve many
// threads, each with its own Scratch; once a Scratch is warm a tfidf query allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "train/softmax_regression.h"
#include "train/text_features.h"

namespace rs {
struct LoadedModel;
}

namespace rs::router {

// The label of out-of-scope queries, in training data and in predictions.
inline constexpr std::string_view kOutOfScope = "oos";

enum class Backend : uint32_t { kTfidf = 0, kEmbedding = 1 };

struct Intent {
  std::string_view label;  // the winning class's label, or kOutOfScope when out_of_scope
  float confidence = 0;    // calibrated probability of the arg-max class
  int class_index = -1;    // the arg-max class (may be the oos class)
  bool out_of_scope = false;
};

// Everything a classifier is made of; what the router file stores.
struct ClassifierParts {
  Backend backend = Backend::kTfidf;
  std::vector<std::string> labels;  // class index -> label, distinct, non-empty
  int32_t oos_class = -1;           // index of kOutOfScope in labels, -1 when absent
  float temperature = 1;            // > 0
  float threshold = 0;              // confidence below it -> out of scope; 0 = never
  train::TfidfVectorizer tfidf;     // kTfidf
  std::string embedder_path;        // kEmbedding: the bert GGUF
  train::SoftmaxHead head;          // n_features = tfidf features or embedding width
};

// rs::Error when the parts disagree (sizes, labels, oos index, temperature, threshold).
void validate(const ClassifierParts& parts);

class IntentClassifier {
 public:
  struct Scratch {
    train::FeatureScratch features;
    train::SparseRow row;
    std::vector<float> probs;
    std::vector<int32_t> tokens;
  };

  // validate(parts) first. The embedding back end needs its model: pass it, or null to load
  // parts.embedder_path.
  explicit IntentClassifier(ClassifierParts parts,
                            std::shared_ptr<const LoadedModel> embedder = nullptr);
  ~IntentClassifier();
  IntentClassifier(IntentClassifier&&) noexcept;
  IntentClassifier& operator=(IntentClassifier&&) noexcept;

  // Reads a router file (router/router_file.h); rs::Error naming the problem when it is not one.
  static IntentClassifier load(const std::string& path);
  void save(const std::string& path) const;

  Intent classify(std::string_view text, Scratch& s) const;
  Intent classify(std::string_view text) const;  // with a temporary Scratch
  // Calibrated probabilities of every class (s.probs, n_classes() entries) for `text`.
  void probabilities(std::string_view text, Scratch& s) const;
  // Uncalibrated logits into out (n_classes() floats): what temperature fitting needs.
  void logits(std::string_view text, Scratch& s, float* out) const;

  const ClassifierParts& parts() const { return parts_; }
  const std::vector<std::string>& labels() const { return parts_.labels; }
  uint32_t n_classes() const { return parts_.head.n_classes; }
  float threshold() const { return parts_.threshold; }
  float temperature() const { return parts_.temperature; }

 private:
  ClassifierParts parts_;
  std::shared_ptr<const LoadedModel> embedder_;
};

// Pooled, L2-normalised embedding of `text` with a bert model (what the embedding back end
// classifies). rs::Error when the text gives no tokens.
std::vector<float> embed_text(const LoadedModel& model, std::string_view text,
                              std::vector<int32_t>& tokens);

}  // namespace rs::router
