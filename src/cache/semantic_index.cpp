#include "cache/semantic_index.h"

#include <algorithm>

namespace rs::cache {

std::string scope_id(const Scope& s) {
  // Lengths first, so "a|b" + "c" and "a" + "b|c" never collide.
  return std::to_string(s.route.size()) + ':' + s.route + std::to_string(s.tenant.size()) + ':' +
         s.tenant + s.context;
}

void SemanticIndex::add(const std::string& key, const Scope& scope, Embedding e,
                        int64_t expires_ms) {
  remove(key);
  if (e.empty()) return;
  const std::string id = scope_id(scope);
  by_scope_[id][key] = Item{std::move(e), expires_ms};
  scope_of_[key] = id;
}

void SemanticIndex::remove(const std::string& key) {
  const auto it = scope_of_.find(key);
  if (it == scope_of_.end()) return;
  const auto s = by_scope_.find(it->second);
  if (s != by_scope_.end()) {
    s->second.erase(key);
    if (s->second.empty()) by_scope_.erase(s);
  }
  scope_of_.erase(it);
}

void SemanticIndex::clear() {
  by_scope_.clear();
  scope_of_.clear();
}

std::vector<std::pair<std::string, float>> SemanticIndex::search(const Scope& scope,
                                                                 const Embedding& q,
                                                                 float threshold,
                                                                 int64_t now_ms) const {
  std::vector<std::pair<std::string, float>> out;
  const auto s = by_scope_.find(scope_id(scope));
  if (s == by_scope_.end() || q.empty()) return out;
  for (const auto& [key, item] : s->second) {
    if (item.expires_ms && item.expires_ms <= now_ms) continue;
    const float sim = similarity(q, item.embedding);
    if (sim >= threshold) out.emplace_back(key, sim);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return out;
}

}  // namespace rs::cache
