#include "router/decision_log.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>

#include "core/error.h"

namespace rs::router {
namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY,
  unix_ms INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  intent TEXT NOT NULL,
  confidence REAL NOT NULL,
  target TEXT NOT NULL,
  escalated INTEGER NOT NULL,
  reason TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  baseline_usd REAL NOT NULL,
  latency_ms REAL NOT NULL,
  classify_ms REAL NOT NULL,
  overhead_ms REAL NOT NULL,
  status INTEGER NOT NULL,
  detail TEXT NOT NULL,
  cache TEXT NOT NULL DEFAULT '',
  similarity REAL NOT NULL DEFAULT 0,
  pii TEXT NOT NULL DEFAULT ''
);)";

// Columns added after the first version of the table: files written by an older server get them
// (ALTER TABLE fails harmlessly with "duplicate column" when they are there).
const char* kAddedColumns[] = {
    "ALTER TABLE decisions ADD COLUMN cache TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE decisions ADD COLUMN similarity REAL NOT NULL DEFAULT 0",
    "ALTER TABLE decisions ADD COLUMN pii TEXT NOT NULL DEFAULT ''",
};

const char* kInsert =
    "INSERT INTO decisions (unix_ms, tenant, route, intent, confidence, target, escalated, reason, "
    "prompt_tokens, completion_tokens, cost_usd, baseline_usd, latency_ms, classify_ms, "
    "overhead_ms, status, detail, cache, similarity, pii) VALUES "
    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

}  // namespace

DecisionLog::DecisionLog(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    fail("cannot open the decision log {}: {}", path, msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  char* err = nullptr;
  const std::string setup =
      std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") + kSchema;
  if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db_);
    fail("decision log {} is not usable: {} (is it another kind of file?)", path, msg);
  }
  for (const char* sql : kAddedColumns) sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  writer_ = std::thread([this] { run(); });
}

DecisionLog::~DecisionLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  sqlite3_close(db_);
}

void DecisionLog::append(const LedgerEntry& e) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  {
    std::lock_guard lk(mu_);
    queue_.emplace_back(now, e);
    ++appended_;
  }
  cv_.notify_one();
}

void DecisionLog::flush() {
  std::unique_lock lk(mu_);
  const uint64_t target = appended_;
  done_cv_.wait(lk, [&] { return written_ + failed_ >= target; });
}

uint64_t DecisionLog::written() const {
  std::lock_guard lk(mu_);
  return written_;
}

uint64_t DecisionLog::failed() const {
  std::lock_guard lk(mu_);
  return failed_;
}

void DecisionLog::run() {
  for (;;) {
    std::deque<std::pair<int64_t, LedgerEntry>> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      batch.swap(queue_);
    }
    write_batch(batch);
  }
}

// One transaction per batch: under load, many rows cost one fsync.
void DecisionLog::write_batch(std::deque<std::pair<int64_t, LedgerEntry>>& batch) {
  sqlite3_stmt* st = nullptr;
  bool ok = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK &&
            sqlite3_prepare_v2(db_, kInsert, -1, &st, nullptr) == SQLITE_OK;
  for (const auto& [ms, e] : batch) {
    if (!ok) break;
    int i = 0;
    auto text = [&](const std::string& s) {
      sqlite3_bind_text(st, ++i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    };
    sqlite3_bind_int64(st, ++i, ms);
    text(e.tenant);
    text(e.route);
    text(e.intent);
    sqlite3_bind_double(st, ++i, e.confidence);
    text(e.target);
    sqlite3_bind_int(st, ++i, e.escalated ? 1 : 0);
    text(e.reason);
    sqlite3_bind_int64(st, ++i, e.prompt_tokens);
    sqlite3_bind_int64(st, ++i, e.completion_tokens);
    sqlite3_bind_double(st, ++i, e.cost_usd);
    sqlite3_bind_double(st, ++i, e.baseline_usd);
    sqlite3_bind_double(st, ++i, e.latency_ms);
    sqlite3_bind_double(st, ++i, e.classify_ms);
    sqlite3_bind_double(st, ++i, e.overhead_ms);
    sqlite3_bind_int(st, ++i, e.status);
    text(e.detail);
    text(e.cache);
    sqlite3_bind_double(st, ++i, e.cache_similarity);
    text(e.pii);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  ok = ok && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    std::lock_guard lk(mu_);
    if (failed_ == 0)
      fmt::print(stderr, "router: cannot write the decision log ({}); rows are being dropped\n",
                 msg);
    failed_ += batch.size();
  } else {
    std::lock_guard lk(mu_);
    written_ += batch.size();
  }
  done_cv_.notify_all();
}

}  // namespace rs::router
