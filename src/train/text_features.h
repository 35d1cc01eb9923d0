// Text features for intent classifiers: word uni/bigrams plus character n-grams inside word
// boundaries (as scikit-learn's "char_wb" analyzer), hashed into 2^bits buckets, weighted by
// sublinear TF-IDF and L2-normalised.
//
// Why these: intents are short queries where wording varies ("card hasn't arrived" / "card not
// arrived yet"); character n-grams match inflections, typos and compounds that word features
// miss, and word bigrams keep short phrases. Hashing needs no vocabulary at query time; the
// vectorizer then keeps only the buckets seen in training, so the weight matrix stays small.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "train/sparse.h"

namespace rs::train {

struct TextFeatureConfig {
  uint32_t hash_bits = 20;      // buckets = 2^hash_bits
  uint32_t word_ngram_max = 2;  // word n-grams 1..max (0: none)
  uint32_t char_ngram_min = 2;  // character n-grams min..max of " word " (0: none)
  uint32_t char_ngram_max = 5;
};

// rs::Error when a field is out of range (also guards configs read from files).
void validate(const TextFeatureConfig& cfg);

// Buffers reused from query to query so that featurizing allocates nothing once they are warm.
struct FeatureScratch {
  std::string normalized;                            // " w1 w2 ... "
  std::vector<std::pair<uint32_t, uint32_t>> words;  // [begin, end) in normalized
  std::vector<uint32_t> buckets;
};

// Buckets of every feature of `text`, with repeats, sorted (so equal buckets are adjacent).
// Words are runs of ASCII letters/digits (lowercased) and non-ASCII bytes.
void hash_features(std::string_view text, const TextFeatureConfig& cfg, FeatureScratch& s);

class TfidfVectorizer {
 public:
  TfidfVectorizer() = default;
  // Keeps the buckets that occur in at least min_df documents, with smoothed IDF
  // ln((1 + N) / (1 + df)) + 1 (scikit-learn's).
  static TfidfVectorizer fit(const std::vector<std::string_view>& docs,
                             const TextFeatureConfig& cfg, int min_df = 1);
  // From stored arrays; rs::Error unless buckets are strictly increasing and < 2^bits and idf
  // values are finite and positive.
  TfidfVectorizer(const TextFeatureConfig& cfg, std::vector<uint32_t> buckets,
                  std::vector<float> idf);

  // (1 + ln tf) * idf over the known buckets, L2-normalised; `out` is cleared first.
  void transform(std::string_view text, FeatureScratch& s, SparseRow& out) const;

  uint32_t n_features() const { return static_cast<uint32_t>(buckets_.size()); }
  const TextFeatureConfig& config() const { return cfg_; }
  const std::vector<uint32_t>& buckets() const { return buckets_; }
  const std::vector<float>& idf() const { return idf_; }

 private:
  void build_column_table();

  TextFeatureConfig cfg_;
  std::vector<uint32_t> buckets_;  // column -> bucket, increasing
  std::vector<float> idf_;         // per column
  std::vector<int32_t> column_;    // bucket -> column, -1 when unseen in training
};

}  // namespace rs::train
