// An in-memory index of the embeddings of cached entries, grouped by scope, for the back ends
// that keep their data in this process (memory, SQLite). A look-up compares the query with
// every entry of its scope: scopes are small (one route x tenant x conversation context), and a
// sparse dot product over ~100 non-zeros takes well under a microsecond, so a linear scan of a
// few thousand entries stays far below the cost of the model call the hit replaces.
// Not thread-safe: the owning store locks.
#pragma once

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
  // (key, similarity) of the entries of `scope` with similarity >= threshold, best first;
  // expired entries are skipped.
  std::vector<std::pair<std::string, float>> search(const Scope& scope, const Embedding& q,
                                                    float threshold, int64_t now_ms) const;
  size_t size() const { return scope_of_.size(); }

 private:
  struct Item {
    Embedding embedding;
    int64_t expires_ms = 0;
  };
  std::unordered_map<std::string, std::unordered_map<std::string, Item>> by_scope_;
  std::unordered_map<std::string, std::string> scope_of_;  // key -> scope id
};

}  // namespace rs::cache
