// The shared back end: a Redis server (several `rightsize serve` replicas point at the same one,
// so a hit found by one is a hit for all). Layout under the configured key prefix P:
//   P e:<key>                         the entry (route, tenant, context, value), with a PX TTL
//   P s:<hex route>:<hex tenant>:<context>  a hash: key -> embedding bytes ("" for exact-only),
//                                     what semantic look-ups scan and invalidations enumerate
// Size bounds are Redis's own (maxmemory + an allkeys-lru policy); entries expire by TTL.
// hiredis contexts are not thread-safe: a small pool hands one to each concurrent caller, and a
// context that saw an error is dropped and reconnected on the next call.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "cache/store.h"

struct redisContext;

namespace rs::cache {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // set for unix:///path URLs
  std::string password;
  int db = 0;
};
// redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH; rs::Error for anything else.
RedisAddress parse_redis_url(const std::string& url);

class RedisStore final : public Store {
 public:
  // Connects once to fail early (rs::Error naming the URL when the server does not answer).
  RedisStore(const std::string& url, std::string prefix, double timeout_s = 1.0);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  std::string_view backend() const override { return "redis"; }
  std::optional<Entry> get(const std::string& key, int64_t now_ms) override;
  std::optional<Match> nearest(const Scope& scope, const Embedding& q, float threshold,
                               int64_t now_ms) override;
  void put(const Entry& e) override;
  int64_t invalidate(const Selector& s) override;
  StoreStats stats() override;

 private:
  class Lease;  // a pooled connection, returned on destruction
  redisContext* connect();
  std::string scope_key(const Scope& s) const;

  std::string url_;
  RedisAddress addr_;
  std::string prefix_;
  double timeout_s_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace rs::cache
