// The response cache's storage (docs/ARCHITECTURE.md, src/cache/): entries keyed by the SHA-256
// of a canonical request (cache/cache_key.h), each scoped to a route, a tenant and a context
// (everything but the last user message: prior turns, sampling parameters), optionally with an
// embedding for semantic look-ups. The payload is opaque here (the server stores a JSON answer).
//
// Three back ends share this interface (cache/memory_store.h, sqlite_store.h, redis_store.h).
// Look-ups never cross a scope: a semantic match is searched only among entries of the same
// route, tenant and context, so one tenant never sees another's answers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::cache {

// A sparse unit-length vector (indices ascending, no duplicates): the router's TF-IDF row, or a
// dense sentence embedding with indices 0..d-1.
struct Embedding {
  std::vector<uint32_t> index;
  std::vector<float> value;
  bool empty() const { return index.empty(); }
};

// Scales to unit length and sorts by index; an all-zero vector becomes empty.
Embedding make_embedding(std::vector<uint32_t> index, std::vector<float> value);
Embedding make_dense_embedding(const float* x, size_t n);
// Cosine similarity of two unit vectors (their dot product); 0 when either is empty.
float similarity(const Embedding& a, const Embedding& b);
// Little-endian bytes (u32 count, then count x (u32 index, f32 value)); decode() throws rs::Error
// on bytes that are not such a vector.
std::string encode(const Embedding& e);
Embedding decode_embedding(std::string_view bytes);

struct Scope {
  std::string route, tenant, context;
  bool operator==(const Scope&) const = default;
};

struct Entry {
  std::string key;  // 64 hex digits (cache_key.h)
  Scope scope;
  std::string value;       // the cached answer, opaque to the cache
  Embedding embedding;     // empty: found by exact key only
  int64_t expires_ms = 0;  // unix milliseconds; 0: never
  size_t bytes() const;    // what the entry counts against max_bytes
};

// What an invalidation removes: entries matching every non-empty field.
struct Selector {
  std::string route, tenant, key;
  bool empty() const { return route.empty() && tenant.empty() && key.empty(); }
};

struct Match {
  Entry entry;
  float similarity = 1;  // 1 for an exact hit
};

struct StoreStats {
  int64_t entries = -1;  // -1: the back end cannot tell cheaply
  int64_t bytes = -1;
  int64_t evictions = 0;
  int64_t write_errors = 0;
};

// Bounds every back end applies (Redis: TTL only; its own maxmemory policy bounds size).
struct Limits {
  int64_t max_entries = 100000;
  int64_t max_bytes = 256ll << 20;
};

// Thread-safe. Back ends throw rs::Error when their storage fails; the caller (the server) turns
// that into a cache miss, so a broken cache costs speed, never answers.
class Store {
 public:
  virtual ~Store() = default;
  virtual std::string_view backend() const = 0;  // "memory", "sqlite", "redis"
  virtual std::optional<Entry> get(const std::string& key, int64_t now_ms) = 0;
  // The entry of `scope` most similar to `q`, if its similarity is at least `threshold`.
  virtual std::optional<Match> nearest(const Scope& scope, const Embedding& q, float threshold,
                                       int64_t now_ms) = 0;
  virtual void put(const Entry& e) = 0;
  virtual int64_t invalidate(const Selector& s) = 0;  // entries removed
  virtual StoreStats stats() = 0;
};

int64_t unix_ms();

}  // namespace rs::cache
