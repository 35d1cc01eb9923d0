// The embedded default back end: one SQLite file in WAL mode, so answers survive restarts and a
// crash (kill -9) mid-write leaves a file that opens with every committed entry. LRU by a
// last-used time (refreshed at most every 10 s per entry, so hits rarely write); the semantic
// index is rebuilt in memory when the file is opened. One process per file: several replicas
// share a cache through Redis (cache/redis_store.h).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "cache/semantic_index.h"
#include "cache/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace rs::cache {

class SqliteStore final : public Store {
 public:
  // Opens or creates `path`; rs::Error naming the file and what to do when it is not a cache
  // file, is corrupt or cannot be written.
  SqliteStore(const std::string& path, Limits limits);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::string_view backend() const override { return "sqlite"; }
  std::optional<Entry> get(const std::string& key, int64_t now_ms) override;
  std::optional<Match> nearest(const Scope& scope, const Embedding& q, float threshold,
                               int64_t now_ms) override;
  void put(const Entry& e) override;
  int64_t invalidate(const Selector& s) override;
  StoreStats stats() override;

 private:
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  std::optional<Entry> get_locked(const std::string& key, int64_t now_ms);
  void erase_locked(const std::string& key);
  void erase_all_locked(const std::vector<std::string>& keys);  // in one transaction, recounts
  void evict_locked();
  void recount_locked();
  [[noreturn]] void fail(const char* what);

  std::string path_;
  Limits limits_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *get_ = nullptr, *touch_ = nullptr, *put_ = nullptr, *del_ = nullptr,
               *size_of_ = nullptr, *oldest_ = nullptr;
  SemanticIndex semantic_;
  int64_t entries_ = 0, bytes_ = 0, evictions_ = 0;
};

}  // namespace rs::cache
