// The router's intent classifier: text -> (intent label, calibrated confidence, out-of-scope).
//
// Two back ends share one linear softmax head (train/softmax_regression.h):
//   * tfidf:     hashed word and character n-gram TF-IDF features (train/text_features.h);
//                a few microseconds per query, no model needed;
//   * embedding: the pooled sentence embedding of a bert GGUF model (engine/loader.h).
// A third has no trained weights:
//   * language model: a generative GGUF (optionally with a LoRA adapter) scores every label as
//                a completion of a prompt template filled with the text
//                (train/label_scoring.h); its logits are the labels' summed token
//                log-probabilities (or their mean per token, LmScoring::length_norm).
// Confidence is softmax(logits / T) with the temperature T fitted on held-out data (1 for the
// language model without held-out rows). A query is out of scope when the "oos" class wins (if
// the training data had one) or when the confidence is below the threshold chosen on held-out
// data.
//
// classify() is const and touches only the caller's Scratch, so one classifier can serve many
// threads, each with its own Scratch; once a Scratch is warm a tfidf query allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/store.h"
#include "train/label_scoring.h"
#include "train/softmax_regression.h"
#include "train/text_features.h"

namespace rs {
struct LoadedModel;
}

namespace rs::router {

// The label of out-of-scope queries, in training data and in predictions.
inline constexpr std::string_view kOutOfScope = "oos";

enum class Backend : uint32_t { kTfidf = 0, kEmbedding = 1, kLanguageModel = 2 };

std::string_view backend_name(Backend b);  // "tfidf", "embedding", "lm"

struct Intent {
  std::string_view label;  // the winning class's label, or kOutOfScope when out_of_scope
  float confidence = 0;    // calibrated probability of the arg-max class
  int class_index = -1;    // the arg-max class (may be the oos class)
  bool out_of_scope = false;
};

// The language-model back end's settings.
struct LmScoring {
  std::string model;            // generative GGUF (absolute path)
  std::string lora;             // LoRA adapter (PEFT folder or GGUF; absolute path), "" = none
  std::string prompt_template;  // contains "{text}", e.g. "Message: {text}\nLabel:"
  bool length_norm = false;     // logit = mean log-probability per label token, not the sum
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
  LmScoring lm;                     // kLanguageModel
  train::SoftmaxHead head;  // n_features = tfidf features or embedding width; kLanguageModel:
                            // n_classes only (no weights, no bias)
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
    train::LabelScoreScratch lm;  // the language-model back end's caches and logits
    train::LabelScores lm_scores;
    std::vector<float> embedding;  // the embedding back end's sentence embedding
  };

  // validate(parts) first. The embedding and language-model back ends need their model (with
  // the adapter bound, for a language model with parts.lm.lora): pass it, or null to load
  // parts.embedder_path / parts.lm.model (+ parts.lm.lora).
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

  // What the classifier saw of the text last classified with `s`: its TF-IDF row or its sentence
  // embedding, as a unit vector (what the semantic cache compares by default); empty for the
  // language-model back end, which has no such vector.
  cache::Embedding representation(const Scratch& s) const;

  const ClassifierParts& parts() const { return parts_; }
  const std::vector<std::string>& labels() const { return parts_.labels; }
  uint32_t n_classes() const { return static_cast<uint32_t>(parts_.labels.size()); }
  float threshold() const { return parts_.threshold; }
  float temperature() const { return parts_.temperature; }
  // The embedding or language model (with its adapter bound); null for TF-IDF.
  const std::shared_ptr<const LoadedModel>& model() const { return embedder_; }

 private:
  ClassifierParts parts_;
  std::shared_ptr<const LoadedModel> embedder_;  // the embedder or the language model
};

// Pooled, L2-normalised embedding of `text` with a bert model (what the embedding back end
// classifies). rs::Error when the text gives no tokens.
std::vector<float> embed_text(const LoadedModel& model, std::string_view text,
                              std::vector<int32_t>& tokens);

// The language-model back end's logits for `text` into out (labels.size() floats): the template
// filled with the text (cut at its end, at a UTF-8 boundary, until the prompt and the longest
// label fit the model's context), every label scored as its completion.
void lm_logits(const LoadedModel& model, const LmScoring& lm,
               const std::vector<std::string>& labels, std::string_view text,
               train::LabelScoreScratch& s, train::LabelScores& scores, float* out);

}  // namespace rs::router
