#include "train/text_features.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rs::train {

namespace {

// FNV-1a, then a splitmix finaliser so that the low bits we keep are well mixed.
constexpr uint64_t kFnvOffset = 1469598103934665603ull;
uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Different seeds keep the word "ab" and the character bigram "ab" in different buckets.
constexpr uint64_t kWordSeed = kFnvOffset ^ 0x57;
constexpr uint64_t kCharSeed = kFnvOffset ^ 0x43;

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

void normalize(std::string_view text, FeatureScratch& s) {
  s.normalized.assign(1, ' ');
  s.words.clear();
  size_t i = 0;
  while (i < text.size()) {
    if (!is_word_byte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    const auto begin = static_cast<uint32_t>(s.normalized.size());
    for (; i < text.size() && is_word_byte(static_cast<unsigned char>(text[i])); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      s.normalized.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
    s.words.emplace_back(begin, static_cast<uint32_t>(s.normalized.size()));
    s.normalized.push_back(' ');
  }
}

}  // namespace

void validate(const TextFeatureConfig& cfg) {
  RS_CHECK(cfg.hash_bits >= 8 && cfg.hash_bits <= 26, "text features: hash bits {} not in 8..26",
           cfg.hash_bits);
  RS_CHECK(cfg.word_ngram_max <= 3, "text features: word n-grams up to {} (at most 3)",
           cfg.word_ngram_max);
  RS_CHECK(cfg.char_ngram_max <= 8 && cfg.char_ngram_min <= cfg.char_ngram_max &&
               (cfg.char_ngram_min > 0 || cfg.char_ngram_max == 0),
           "text features: character n-grams {}..{} (want 1 <= min <= max <= 8, or 0..0)",
           cfg.char_ngram_min, cfg.char_ngram_max);
  RS_CHECK(cfg.word_ngram_max > 0 || cfg.char_ngram_max > 0, "text features: none enabled");
}

void hash_features(std::string_view text, const TextFeatureConfig& cfg, FeatureScratch& s) {
  normalize(text, s);
  s.buckets.clear();
  const uint64_t mask = (uint64_t{1} << cfg.hash_bits) - 1;
  const std::string_view norm = s.normalized;
  const size_t nw = s.words.size();
  for (size_t w = 0; w < nw; ++w) {
    // Word n-grams: the words joined by single spaces, exactly as they sit in `normalized`.
    for (size_t n = 1; n <= cfg.word_ngram_max && w + n <= nw; ++n) {
      const auto b = s.words[w].first, e = s.words[w + n - 1].second;
      s.buckets.push_back(
          static_cast<uint32_t>(mix(fnv1a(norm.substr(b, e - b), kWordSeed)) & mask));
    }
    // Character n-grams of the word padded with one space on each side.
    if (cfg.char_ngram_max == 0) continue;
    const size_t pb = s.words[w].first - 1, pe = s.words[w].second + 1;
    for (size_t n = cfg.char_ngram_min; n <= cfg.char_ngram_max && n <= pe - pb; ++n)
      for (size_t i = pb; i + n <= pe; ++i)
        s.buckets.push_back(static_cast<uint32_t>(mix(fnv1a(norm.substr(i, n), kCharSeed)) & mask));
  }
  std::sort(s.buckets.begin(), s.buckets.end());
}

TfidfVectorizer TfidfVectorizer::fit(const std::vector<std::string_view>& docs,
                                     const TextFeatureConfig& cfg, int min_df) {
  validate(cfg);
  RS_CHECK(!docs.empty(), "TF-IDF: no documents to fit");
  std::vector<uint32_t> df(size_t{1} << cfg.hash_bits, 0);
  FeatureScratch s;
  for (const auto d : docs) {
    hash_features(d, cfg, s);
    for (size_t i = 0; i < s.buckets.size(); ++i)
      if (i == 0 || s.buckets[i] != s.buckets[i - 1]) ++df[s.buckets[i]];
  }
  std::vector<uint32_t> buckets;
  std::vector<float> idf;
  const double n = static_cast<double>(docs.size());
  for (uint32_t b = 0; b < df.size(); ++b) {
    if (df[b] == 0 || df[b] < static_cast<uint32_t>(min_df)) continue;
    buckets.push_back(b);
    idf.push_back(static_cast<float>(std::log((1.0 + n) / (1.0 + df[b])) + 1.0));
  }
  RS_CHECK(!buckets.empty(), "TF-IDF: the documents give no features");
  return TfidfVectorizer(cfg, std::move(buckets), std::move(idf));
}

TfidfVectorizer::TfidfVectorizer(const TextFeatureConfig& cfg, std::vector<uint32_t> buckets,
                                 std::vector<float> idf)
    : cfg_(cfg), buckets_(std::move(buckets)), idf_(std::move(idf)) {
  validate(cfg_);
  RS_CHECK(buckets_.size() == idf_.size(), "TF-IDF: {} buckets but {} IDF values", buckets_.size(),
           idf_.size());
  const uint64_t n_buckets = uint64_t{1} << cfg_.hash_bits;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    RS_CHECK(buckets_[i] < n_buckets && (i == 0 || buckets_[i] > buckets_[i - 1]),
             "TF-IDF: bucket list not strictly increasing below 2^{} at column {}", cfg_.hash_bits,
             i);
    RS_CHECK(std::isfinite(idf_[i]) && idf_[i] > 0, "TF-IDF: bad IDF value at column {}", i);
  }
  build_column_table();
}

void TfidfVectorizer::build_column_table() {
  column_.assign(size_t{1} << cfg_.hash_bits, -1);
  for (size_t i = 0; i < buckets_.size(); ++i) column_[buckets_[i]] = static_cast<int32_t>(i);
}

void TfidfVectorizer::transform(std::string_view text, FeatureScratch& s, SparseRow& out) const {
  out.clear();
  hash_features(text, cfg_, s);
  double norm2 = 0;
  for (size_t i = 0; i < s.buckets.size();) {
    size_t j = i;
    while (j < s.buckets.size() && s.buckets[j] == s.buckets[i]) ++j;
    const int32_t col = column_[s.buckets[i]];
    if (col >= 0) {
      const float v = static_cast<float>(1.0 + std::log(static_cast<double>(j - i))) *
                      idf_[static_cast<size_t>(col)];
      out.index.push_back(static_cast<uint32_t>(col));
      out.value.push_back(v);
      norm2 += static_cast<double>(v) * v;
    }
    i = j;
  }
  if (norm2 > 0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
    for (float& v : out.value) v *= inv;
  }
}

}  // namespace rs::train
