// The decision log: one SQLite row per routed request explaining where it went and why (intent,
// confidence, route, reason, tokens, cost, baseline, latency). Never the request's text.
//
// Requests only queue their row; one writer thread inserts them in transactions (WAL journal, so
// readers such as `sqlite3 decisions.db` never block it). A failed write (disk full, file
// removed) is counted and reported on stderr once, never thrown into a request. The destructor
// writes what is queued.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "router/ledger.h"

struct sqlite3;

namespace rs::router {

class DecisionLog {
 public:
  // Opens or creates `path` (table `decisions`); rs::Error when it cannot.
  explicit DecisionLog(const std::string& path);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  void append(const LedgerEntry& e);
  // Waits until everything appended so far is written (tests, shutdown).
  void flush();
  uint64_t written() const;
  uint64_t failed() const;

 private:
  void run();
  void write_batch(std::deque<std::pair<int64_t, LedgerEntry>>& batch);

  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::pair<int64_t, LedgerEntry>> queue_;  // (unix ms, entry)
  uint64_t appended_ = 0, written_ = 0, failed_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace rs::router
