#include "cache/sqlite_store.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace rs::cache {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int64_t kTouchEveryMs = 10000;

// Resets a statement when the scope ends, whatever path leaves it.
struct Reset {
  sqlite3_stmt* s;
  ~Reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
std::string column(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

}  // namespace

void SqliteStore::fail(const char* what) {
  throw Error(fmt::format("cache: {} in '{}' failed: {}", what, path_, sqlite3_errmsg(db_)));
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(fmt::format("cache: '{}' on '{}' failed: {}", sql, path_, msg));
  }
}

sqlite3_stmt* SqliteStore::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    fail("preparing a statement");
  return s;
}

SqliteStore::SqliteStore(const std::string& path, Limits limits) : path_(path), limits_(limits) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(fmt::format("cache: cannot open '{}': {} (check the folder exists and is writable)",
                            path, msg));
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_stmt* check = nullptr;
    std::string verdict;
    if (sqlite3_prepare_v2(db_, "PRAGMA quick_check", -1, &check, nullptr) == SQLITE_OK &&
        sqlite3_step(check) == SQLITE_ROW)
      verdict = column(check, 0);
    sqlite3_finalize(check);
    RS_CHECK(verdict == "ok",
             "cache: '{}' is damaged ({}); delete it (the cache refills itself) or point "
             "cache.path elsewhere",
             path, verdict.empty() ? sqlite3_errmsg(db_) : verdict);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");  // WAL: a process crash loses nothing committed
    sqlite3_stmt* v = prepare("PRAGMA user_version");
    int version = 0;
    if (sqlite3_step(v) == SQLITE_ROW) version = sqlite3_column_int(v, 0);
    sqlite3_finalize(v);
    sqlite3_stmt* t = prepare(
        "SELECT count(*) FROM sqlite_master WHERE name != 'cache_entries' "
        "AND type = 'table'");
    int other_tables = 0;
    if (sqlite3_step(t) == SQLITE_ROW) other_tables = sqlite3_column_int(t, 0);
    sqlite3_finalize(t);
    RS_CHECK(version == kSchemaVersion || (version == 0 && other_tables == 0),
             "cache: '{}' is not a rightsize cache file (schema version {}); point cache.path at "
             "a new file",
             path, version);
    exec(
        "CREATE TABLE IF NOT EXISTS cache_entries(key TEXT PRIMARY KEY, route TEXT NOT NULL, "
        "tenant TEXT NOT NULL, context TEXT NOT NULL, value BLOB NOT NULL, embedding BLOB, "
        "expires_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL, bytes INTEGER NOT NULL)");
    exec("CREATE INDEX IF NOT EXISTS cache_entries_used ON cache_entries(used_ms)");
    exec("CREATE INDEX IF NOT EXISTS cache_entries_scope ON cache_entries(route, tenant)");
    exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str());
    get_ = prepare(
        "SELECT route, tenant, context, value, expires_ms, used_ms FROM "
        "cache_entries WHERE key = ?");
    touch_ = prepare("UPDATE cache_entries SET used_ms = ? WHERE key = ?");
    put_ = prepare("INSERT OR REPLACE INTO cache_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    del_ = prepare("DELETE FROM cache_entries WHERE key = ?");
    size_of_ = prepare("SELECT bytes FROM cache_entries WHERE key = ?");
    oldest_ = prepare("SELECT key FROM cache_entries ORDER BY used_ms LIMIT ?");
    // The semantic index lives in memory: rebuild it from the file.
    sqlite3_stmt* all = prepare(
        "SELECT key, route, tenant, context, embedding, expires_ms FROM "
        "cache_entries WHERE embedding IS NOT NULL");
    while (sqlite3_step(all) == SQLITE_ROW) {
      try {
        semantic_.add(column(all, 0), {column(all, 1), column(all, 2), column(all, 3)},
                      decode_embedding(column(all, 4)), sqlite3_column_int64(all, 5));
      } catch (const Error&) {  // an unreadable embedding: the entry stays exact-only
      }
    }
    sqlite3_finalize(all);
    recount_locked();
  } catch (...) {
    for (sqlite3_stmt* s : {get_, touch_, put_, del_, size_of_, oldest_}) sqlite3_finalize(s);
    sqlite3_close(db_);
    throw;
  }
}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* s : {get_, touch_, put_, del_, size_of_, oldest_}) sqlite3_finalize(s);
  sqlite3_close(db_);
}

void SqliteStore::recount_locked() {
  sqlite3_stmt* s = prepare("SELECT count(*), total(bytes) FROM cache_entries");
  if (sqlite3_step(s) == SQLITE_ROW) {
    entries_ = sqlite3_column_int64(s, 0);
    bytes_ = static_cast<int64_t>(sqlite3_column_double(s, 1));
  }
  sqlite3_finalize(s);
}

void SqliteStore::erase_locked(const std::string& key) {
  Reset r{del_};
  bind_text(del_, 1, key);
  if (sqlite3_step(del_) != SQLITE_DONE) fail("deleting an entry");
  semantic_.remove(key);
}

void SqliteStore::erase_all_locked(const std::vector<std::string>& keys) {
  exec("BEGIN");  // one transaction for the lot
  try {
    for (const auto& k : keys) erase_locked(k);
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    recount_locked();
    throw;
  }
  recount_locked();
}

std::optional<Entry> SqliteStore::get_locked(const std::string& key, int64_t now_ms) {
  Entry e;
  int64_t used = 0;
  {
    Reset r{get_};
    bind_text(get_, 1, key);
    const int rc = sqlite3_step(get_);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) fail("reading an entry");
    e.key = key;
    e.scope = {column(get_, 0), column(get_, 1), column(get_, 2)};
    e.value = column(get_, 3);
    e.expires_ms = sqlite3_column_int64(get_, 4);
    used = sqlite3_column_int64(get_, 5);
  }
  if (e.expires_ms && e.expires_ms <= now_ms) {
    erase_locked(key);
    recount_locked();
    return std::nullopt;
  }
  if (now_ms - used > kTouchEveryMs) {
    Reset r{touch_};
    sqlite3_bind_int64(touch_, 1, now_ms);
    bind_text(touch_, 2, key);
    if (sqlite3_step(touch_) != SQLITE_DONE) fail("updating an entry's last use");
  }
  return e;
}

std::optional<Entry> SqliteStore::get(const std::string& key, int64_t now_ms) {
  std::lock_guard lk(mu_);
  return get_locked(key, now_ms);
}

std::optional<Match> SqliteStore::nearest(const Scope& scope, const Embedding& q, float threshold,
                                          int64_t now_ms) {
  std::lock_guard lk(mu_);
  for (const auto& [key, sim] : semantic_.search(scope, q, threshold, now_ms)) {
    if (auto e = get_locked(key, now_ms)) return Match{std::move(*e), sim};
    semantic_.remove(key);  // removed from the file meanwhile
  }
  return std::nullopt;
}

void SqliteStore::put(const Entry& e) {
  std::lock_guard lk(mu_);
  const int64_t bytes = static_cast<int64_t>(e.bytes());
  if (bytes > limits_.max_bytes) return;
  int64_t old_bytes = -1;
  {
    Reset r{size_of_};
    bind_text(size_of_, 1, e.key);
    if (sqlite3_step(size_of_) == SQLITE_ROW) old_bytes = sqlite3_column_int64(size_of_, 0);
  }
  {
    Reset r{put_};
    bind_text(put_, 1, e.key);
    bind_text(put_, 2, e.scope.route);
    bind_text(put_, 3, e.scope.tenant);
    bind_text(put_, 4, e.scope.context);
    bind_blob(put_, 5, e.value);
    const std::string emb = encode(e.embedding);
    if (e.embedding.empty())
      sqlite3_bind_null(put_, 6);
    else
      bind_blob(put_, 6, emb);
    sqlite3_bind_int64(put_, 7, e.expires_ms);
    sqlite3_bind_int64(put_, 8, unix_ms());
    sqlite3_bind_int64(put_, 9, bytes);
    if (sqlite3_step(put_) != SQLITE_DONE) fail("writing an entry");
  }
  semantic_.add(e.key, e.scope, e.embedding, e.expires_ms);
  if (old_bytes >= 0) {
    bytes_ += bytes - old_bytes;
  } else {
    ++entries_;
    bytes_ += bytes;
  }
  if (entries_ > limits_.max_entries || bytes_ > limits_.max_bytes) evict_locked();
}

void SqliteStore::evict_locked() {
  // Evict down to 95% of both bounds at once, so a full cache does not evict on every write.
  const int64_t target_entries = limits_.max_entries - limits_.max_entries / 20;
  const double frac = bytes_ > 0 ? static_cast<double>(limits_.max_bytes) * 0.95 / bytes_ : 1;
  const int64_t by_bytes = static_cast<int64_t>(static_cast<double>(entries_) * (1 - frac)) + 1;
  const int64_t n = std::max({entries_ - target_entries, by_bytes, int64_t{1}});
  std::vector<std::string> keys;
  {
    Reset r{oldest_};
    sqlite3_bind_int64(oldest_, 1, n);
    while (sqlite3_step(oldest_) == SQLITE_ROW) keys.push_back(column(oldest_, 0));
  }
  erase_all_locked(keys);
  evictions_ += static_cast<int64_t>(keys.size());
}

int64_t SqliteStore::invalidate(const Selector& sel) {
  std::lock_guard lk(mu_);
  std::string where = "1";
  std::vector<std::string> args;
  for (const auto& [col, v] : {std::pair<const char*, const std::string*>{"key", &sel.key},
                               {"route", &sel.route},
                               {"tenant", &sel.tenant}}) {
    if (v->empty()) continue;
    where += fmt::format(" AND {} = ?", col);
    args.push_back(*v);
  }
  const std::string select = "SELECT key FROM cache_entries WHERE " + where;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, select.c_str(), -1, &s, nullptr) != SQLITE_OK) fail("invalidating");
  for (size_t i = 0; i < args.size(); ++i) bind_text(s, static_cast<int>(i + 1), args[i]);
  std::vector<std::string> keys;
  while (sqlite3_step(s) == SQLITE_ROW) keys.push_back(column(s, 0));
  sqlite3_finalize(s);
  erase_all_locked(keys);
  return static_cast<int64_t>(keys.size());
}

StoreStats SqliteStore::stats() {
  std::lock_guard lk(mu_);
  return {entries_, bytes_, evictions_, 0};
}

}  // namespace rs::cache
