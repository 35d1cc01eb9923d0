// The in-process back end: an LRU list bounded by entries and bytes, lost on restart. What
// `cache.backend: memory` uses, and what tests compare the other back ends with.
#pragma once

#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/semantic_index.h"
#include "cache/store.h"

namespace rs::cache {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Limits limits);
  std::string_view backend() const override { return "memory"; }
  std::optional<Entry> get(const std::string& key, int64_t now_ms) override;
  std::optional<Match> nearest(const Scope& scope, const Embedding& q, float threshold,
                               int64_t now_ms) override;
  void put(const Entry& e) override;
  int64_t invalidate(const Selector& s) override;
  StoreStats stats() override;

 private:
  using List = std::list<Entry>;  // most recently used first; entries without their embedding
  void erase(List::iterator it);  // mu_ held
  std::optional<Entry> touch(const std::string& key, int64_t now_ms);  // mu_ held

  Limits limits_;
  std::mutex mu_;
  List lru_;
  std::unordered_map<std::string, List::iterator> by_key_;
  SemanticIndex semantic_;
  std::unordered_map<std::string, size_t> embedding_bytes_;
  int64_t bytes_ = 0, evictions_ = 0;
};

}  // namespace rs::cache
