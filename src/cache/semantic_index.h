// An in-memory index of the embeddings of cached entries, grouped by scope, for the back ends
// that keep their data in this process (memory, SQLite). Each scope keeps inverted lists
// (feature -> entries with a non-zero value there), so a query touches only the entries that
// share a feature with it: for sparse TF-IDF rows a look-up among thousands of entries costs
// tens of microseconds, not a scan. Dense embeddings (every feature non-zero) degrade to a scan
// of the scope, d x n multiply-adds.
// Removal marks a slot dead; a scope is compacted when half of it is dead.
// Not thread-safe: the owning store locks.
#pragma once

#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/store.h"

namespace rs::cache {

std::string scope_id(const Scope& s);  // unambiguous concatenation

class SemanticIndex {
 public:
  void add(const std::string& key, const Scope& scope, Embedding e, int64_t expires_ms);
  void remove(const std::string& key);
  void clear();
  // (key, similarity) of the entries of `scope` with similarity >= threshold, best first (ties:
  // smaller key), at most `limit`; expired entries are skipped.
  std::vector<std::pair<std::string, float>> search(
      const Scope& scope, const Embedding& q, float threshold, int64_t now_ms,
      size_t limit = std::numeric_limits<size_t>::max()) const;
  size_t size() const { return where_.size(); }

 private:
  struct Item {
    std::string key;
    int64_t expires_ms = 0;
    bool alive = true;
    Embedding embedding;  // kept to rebuild the lists on compaction
  };
  struct Group {
    std::vector<Item> items;
    std::unordered_map<uint32_t, std::vector<std::pair<uint32_t, float>>> postings;
    size_t dead = 0;
    void insert(Item item);
    void compact();
  };
  std::unordered_map<std::string, Group> groups_;
  std::unordered_map<std::string, std::pair<std::string, uint32_t>> where_;  // key -> (scope, slot)
};

}  // namespace rs::cache
