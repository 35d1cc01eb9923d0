#include "router/router_file.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace rs::router {

namespace {

constexpr char kMagic[8] = {'R', 'S', 'R', 'O', 'U', 'T', 'E', 'R'};
constexpr uint32_t kMaxClasses = 1u << 16;
constexpr uint32_t kMaxString = 1u << 16;

uint64_t fnv1a(std::span<const uint8_t> b) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t c : b) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class Writer {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  template <typename T>
  void put_array(const std::vector<T>& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> b, const std::string& name) : b_(b), name_(name) {}
  void need(uint64_t n, const char* what) const {
    if (n > b_.size() - pos_)
      fail("router file '{}' is truncated: {} needs {} bytes at offset {}, {} left", name_, what, n,
           pos_, b_.size() - pos_);
  }
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> get_array(uint64_t n, const char* what) {
    need(n * sizeof(T), what);  // n < 2^42 here, so the product cannot overflow
    std::vector<T> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), b_.data() + pos_, static_cast<size_t>(n) * sizeof(T));
    pos_ += static_cast<size_t>(n) * sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get<uint32_t>(what);
    RS_CHECK(n <= kMaxString, "router file '{}': {} of {} bytes is too long", name_, what, n);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> b_;
  const std::string& name_;
  size_t pos_ = 0;
};

void check_finite(const std::vector<float>& v, const char* what, const std::string& name) {
  for (float x : v)
    RS_CHECK(std::isfinite(x), "router file '{}': non-finite value in {}", name, what);
}

}  // namespace

std::vector<uint8_t> serialize_router(const ClassifierParts& p) {
  Writer w;
  w.out.insert(w.out.end(), kMagic, kMagic + 8);
  const bool lm = p.backend == Backend::kLanguageModel;
  w.put(lm ? kRouterFileVersion : uint32_t{1});
  w.put(static_cast<uint32_t>(p.backend));
  w.put(static_cast<uint32_t>(p.labels.size()));
  w.put(p.head.n_features);
  w.put(p.oos_class);
  w.put(p.temperature);
  w.put(p.threshold);
  const bool tfidf = p.backend == Backend::kTfidf;
  const train::TextFeatureConfig c =
      tfidf ? p.tfidf.config() : train::TextFeatureConfig{0, 0, 0, 0};
  for (uint32_t v : {c.hash_bits, c.word_ngram_max, c.char_ngram_min, c.char_ngram_max}) w.put(v);
  for (const auto& l : p.labels) w.put_string(l);
  w.put_string(p.backend == Backend::kEmbedding ? p.embedder_path : std::string());
  if (lm) {
    w.put_string(p.lm.model);
    w.put_string(p.lm.lora);
    w.put_string(p.lm.prompt_template);
    w.put(static_cast<uint32_t>(p.lm.length_norm ? 1 : 0));
  }
  if (tfidf) {
    w.put_array(p.tfidf.buckets());
    w.put_array(p.tfidf.idf());
  }
  w.put_array(p.head.weights);
  w.put_array(p.head.bias);
  w.put(fnv1a(w.out));
  return std::move(w.out);
}

ClassifierParts parse_router(std::span<const uint8_t> bytes, const std::string& name) {
  RS_CHECK(bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 8) == 0,
           "'{}' is not a router file (no RSROUTER magic); make one with rightsize train-router",
           name);
  RS_CHECK(bytes.size() >= 16, "router file '{}' is truncated ({} bytes)", name, bytes.size());
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  Reader r(bytes.first(bytes.size() - 8), name);
  r.get_array<uint8_t>(8, "magic");
  const auto version = r.get<uint32_t>("version");
  RS_CHECK(version >= 1 && version <= kRouterFileVersion,
           "router file '{}' has version {}; this build reads versions 1 to {} (retrain it)", name,
           version, kRouterFileVersion);
  RS_CHECK(fnv1a(bytes.first(bytes.size() - 8)) == stored,
           "router file '{}' is corrupt or truncated (checksum mismatch)", name);
  ClassifierParts p;
  const auto backend = r.get<uint32_t>("backend");
  RS_CHECK(backend <= (version >= 2 ? 2u : 1u), "router file '{}': unknown back end {}", name,
           backend);
  p.backend = static_cast<Backend>(backend);
  const bool lm = p.backend == Backend::kLanguageModel;
  const auto k = r.get<uint32_t>("n_classes");
  const auto nf = r.get<uint32_t>("n_features");
  RS_CHECK(k >= 2 && k <= kMaxClasses, "router file '{}': {} classes", name, k);
  RS_CHECK(lm ? nf == 0 : nf >= 1 && nf <= (1u << 26), "router file '{}': {} features", name, nf);
  p.oos_class = r.get<int32_t>("oos_class");
  p.temperature = r.get<float>("temperature");
  p.threshold = r.get<float>("threshold");
  train::TextFeatureConfig c;
  c.hash_bits = r.get<uint32_t>("hash_bits");
  c.word_ngram_max = r.get<uint32_t>("word_ngram_max");
  c.char_ngram_min = r.get<uint32_t>("char_ngram_min");
  c.char_ngram_max = r.get<uint32_t>("char_ngram_max");
  for (uint32_t i = 0; i < k; ++i) p.labels.push_back(r.get_string("label"));
  p.embedder_path = r.get_string("embedder path");
  if (version >= 2) {
    p.lm.model = r.get_string("language model path");
    p.lm.lora = r.get_string("LoRA adapter path");
    p.lm.prompt_template = r.get_string("prompt template");
    const auto flags = r.get<uint32_t>("language model flags");
    RS_CHECK(flags <= 1, "router file '{}': unknown language model flags {:#x}", name, flags);
    p.lm.length_norm = flags & 1;
  }
  if (p.backend == Backend::kTfidf) {
    auto buckets = r.get_array<uint32_t>(nf, "TF-IDF buckets");
    auto idf = r.get_array<float>(nf, "TF-IDF weights");
    p.tfidf = train::TfidfVectorizer(c, std::move(buckets), std::move(idf));
  }
  p.head.n_features = nf;
  p.head.n_classes = k;
  p.head.weights = r.get_array<float>(static_cast<uint64_t>(nf) * k, "weights");
  p.head.bias = r.get_array<float>(lm ? 0 : k, "bias");
  check_finite(p.head.weights, "weights", name);
  check_finite(p.head.bias, "bias", name);
  RS_CHECK(r.pos() == bytes.size() - 8, "router file '{}': {} unexpected bytes before the checksum",
           name, bytes.size() - 8 - r.pos());
  try {
    validate(p);
  } catch (const Error& e) {
    fail("router file '{}': {}", name, e.what());
  }
  return p;
}

void write_router_file(const ClassifierParts& parts, const std::string& path) {
  const auto bytes = serialize_router(parts);
  // Write a sibling file and rename it, so a crash never leaves half a router behind.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    RS_CHECK(out.good(), "cannot write '{}'", tmp);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    RS_CHECK(out.good(), "writing '{}' failed", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  RS_CHECK(!ec, "cannot rename '{}' to '{}': {}", tmp, path, ec.message());
}

ClassifierParts read_router_file(const std::string& path) {
  std::error_code ec;
  RS_CHECK(std::filesystem::is_regular_file(path, ec), "router file '{}' not found", path);
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open router file '{}'", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return parse_router(bytes, path);
}

}  // namespace rs::router
