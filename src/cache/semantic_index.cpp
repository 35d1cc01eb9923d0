#include "cache/semantic_index.h"

#include <algorithm>

namespace rs::cache {

std::string scope_id(const Scope& s) {
  // Lengths first, so "a|b" + "c" and "a" + "b|c" never collide.
  return std::to_string(s.route.size()) + ':' + s.route + std::to_string(s.tenant.size()) + ':' +
         s.tenant + s.context;
}

void SemanticIndex::Group::insert(Item item) {
  const auto slot = static_cast<uint32_t>(items.size());
  for (size_t i = 0; i < item.embedding.index.size(); ++i)
    postings[item.embedding.index[i]].emplace_back(slot, item.embedding.value[i]);
  items.push_back(std::move(item));
}

void SemanticIndex::Group::compact() {
  std::vector<Item> old = std::move(items);
  items.clear();
  postings.clear();
  dead = 0;
  for (Item& it : old)
    if (it.alive) insert(std::move(it));
}

void SemanticIndex::add(const std::string& key, const Scope& scope, Embedding e,
                        int64_t expires_ms) {
  remove(key);
  if (e.empty()) return;
  const std::string id = scope_id(scope);
  Group& g = groups_[id];
  where_[key] = {id, static_cast<uint32_t>(g.items.size())};
  g.insert({key, expires_ms, true, std::move(e)});
}

void SemanticIndex::remove(const std::string& key) {
  const auto it = where_.find(key);
  if (it == where_.end()) return;
  const auto g = groups_.find(it->second.first);
  const uint32_t slot = it->second.second;
  where_.erase(it);
  if (g == groups_.end()) return;
  Group& group = g->second;
  if (slot < group.items.size() && group.items[slot].alive && group.items[slot].key == key) {
    group.items[slot].alive = false;
    ++group.dead;
  }
  if (group.dead == group.items.size()) {
    groups_.erase(g);
  } else if (group.dead * 2 > group.items.size()) {
    group.compact();
    for (uint32_t i = 0; i < group.items.size(); ++i) where_[group.items[i].key].second = i;
  }
}

void SemanticIndex::clear() {
  groups_.clear();
  where_.clear();
}

std::vector<std::pair<std::string, float>> SemanticIndex::search(const Scope& scope,
                                                                 const Embedding& q,
                                                                 float threshold, int64_t now_ms,
                                                                 size_t limit) const {
  std::vector<std::pair<std::string, float>> out;
  const auto g = groups_.find(scope_id(scope));
  if (g == groups_.end() || q.empty() || limit == 0) return out;
  const Group& group = g->second;
  thread_local std::vector<float> score;
  score.assign(group.items.size(), 0.0f);
  for (size_t i = 0; i < q.index.size(); ++i) {
    const auto p = group.postings.find(q.index[i]);
    if (p == group.postings.end()) continue;
    const float w = q.value[i];
    for (const auto& [slot, v] : p->second) score[slot] += w * v;
  }
  for (uint32_t s = 0; s < group.items.size(); ++s) {
    const Item& it = group.items[s];
    if (!it.alive || score[s] < threshold || (it.expires_ms && it.expires_ms <= now_ms)) continue;
    out.emplace_back(it.key, score[s]);
  }
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end(),
                      better);
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end(), better);
  }
  return out;
}

}  // namespace rs::cache
