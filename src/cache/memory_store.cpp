#include "cache/memory_store.h"

namespace rs::cache {

MemoryStore::MemoryStore(Limits limits) : limits_(limits) {}

void MemoryStore::erase(List::iterator it) {
  bytes_ -= static_cast<int64_t>(it->bytes());
  if (const auto eb = embedding_bytes_.find(it->key); eb != embedding_bytes_.end()) {
    bytes_ -= static_cast<int64_t>(eb->second);
    embedding_bytes_.erase(eb);
  }
  semantic_.remove(it->key);
  by_key_.erase(it->key);
  lru_.erase(it);
}

std::optional<Entry> MemoryStore::touch(const std::string& key, int64_t now_ms) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  if (it->second->expires_ms && it->second->expires_ms <= now_ms) {
    erase(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

std::optional<Entry> MemoryStore::get(const std::string& key, int64_t now_ms) {
  std::lock_guard lk(mu_);
  return touch(key, now_ms);
}

std::optional<Match> MemoryStore::nearest(const Scope& scope, const Embedding& q, float threshold,
                                          int64_t now_ms) {
  std::lock_guard lk(mu_);
  for (const auto& [key, sim] : semantic_.search(scope, q, threshold, now_ms))
    if (auto e = touch(key, now_ms)) return Match{std::move(*e), sim};
  return std::nullopt;
}

void MemoryStore::put(const Entry& e) {
  std::lock_guard lk(mu_);
  if (const auto it = by_key_.find(e.key); it != by_key_.end()) erase(it->second);
  Entry stored = e;
  stored.embedding = {};
  const size_t eb = 8 * e.embedding.index.size();
  if (static_cast<int64_t>(stored.bytes() + eb) > limits_.max_bytes) return;  // never fits
  bytes_ += static_cast<int64_t>(stored.bytes() + eb);
  lru_.push_front(std::move(stored));
  by_key_[e.key] = lru_.begin();
  if (!e.embedding.empty()) {
    semantic_.add(e.key, e.scope, e.embedding, e.expires_ms);
    embedding_bytes_[e.key] = eb;
  }
  while (!lru_.empty() &&
         (static_cast<int64_t>(lru_.size()) > limits_.max_entries || bytes_ > limits_.max_bytes)) {
    erase(std::prev(lru_.end()));
    ++evictions_;
  }
}

int64_t MemoryStore::invalidate(const Selector& s) {
  std::lock_guard lk(mu_);
  int64_t n = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    const auto next = std::next(it);
    if ((s.key.empty() || it->key == s.key) && (s.route.empty() || it->scope.route == s.route) &&
        (s.tenant.empty() || it->scope.tenant == s.tenant)) {
      erase(it);
      ++n;
    }
    it = next;
  }
  return n;
}

StoreStats MemoryStore::stats() {
  std::lock_guard lk(mu_);
  return {static_cast<int64_t>(lru_.size()), bytes_, evictions_, 0};
}

}  // namespace rs::cache
