#include "cache/redis_store.h"

#include <hiredis/hiredis.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace rs::cache {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Entry framing: four length-prefixed strings (route, tenant, context, value).
void put_str(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), 4);
  out.append(s);
}
bool get_str(std::string_view& in, std::string& s) {
  uint32_t n;
  if (in.size() < 4) return false;
  std::memcpy(&n, in.data(), 4);
  in.remove_prefix(4);
  if (in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

struct Reply {
  redisReply* r = nullptr;
  ~Reply() {
    if (r) freeReplyObject(r);
  }
  Reply() = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  Reply(Reply&& o) noexcept : r(std::exchange(o.r, nullptr)) {}
};

}  // namespace

RedisAddress parse_redis_url(const std::string& url) {
  RedisAddress a;
  if (url.rfind("unix://", 0) == 0) {
    a.unix_socket = url.substr(7);
    RS_CHECK(!a.unix_socket.empty(), "cache: redis URL '{}' names no socket", url);
    return a;
  }
  RS_CHECK(url.rfind("redis://", 0) == 0,
           "cache: redis URL '{}' must look like redis://[:PASSWORD@]HOST[:PORT][/DB] or "
           "unix:///PATH",
           url);
  std::string rest = url.substr(8);
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    a.password = cred.substr(cred.find(':') == std::string::npos ? 0 : cred.find(':') + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      RS_CHECK(db.find_first_not_of("0123456789") == std::string::npos && db.size() < 6,
               "cache: redis URL '{}': database '{}' is not a number", url, db);
      a.db = std::stoi(db);
    }
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    RS_CHECK(!port.empty() && port.find_first_not_of("0123456789") == std::string::npos &&
                 port.size() < 6 && std::stoi(port) > 0 && std::stoi(port) < 65536,
             "cache: redis URL '{}': port '{}' is not a port number", url, port);
    a.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) a.host = rest;
  return a;
}

// A connection from the pool; a connection that failed is closed instead of returned.
class RedisStore::Lease {
 public:
  explicit Lease(RedisStore& s) : s_(s) {
    {
      std::lock_guard lk(s_.mu_);
      if (!s_.idle_.empty()) {
        c_ = s_.idle_.back();
        s_.idle_.pop_back();
      }
    }
    if (!c_) c_ = s_.connect();
  }
  ~Lease() {
    if (c_->err) {
      redisFree(c_);
      return;
    }
    std::lock_guard lk(s_.mu_);
    s_.idle_.push_back(c_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Reply run(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply rep;
    rep.r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!rep.r)
      throw Error(fmt::format("cache: redis {} failed: {}", s_.url_,
                              c_->errstr[0] ? c_->errstr : "connection lost"));
    if (rep.r->type == REDIS_REPLY_ERROR)
      throw Error(fmt::format("cache: redis {} answered {}: {}", s_.url_, *args.begin(),
                              std::string(rep.r->str, rep.r->len)));
    return rep;
  }

 private:
  RedisStore& s_;
  redisContext* c_ = nullptr;
};

RedisStore::RedisStore(const std::string& url, std::string prefix, double timeout_s)
    : url_(url), addr_(parse_redis_url(url)), prefix_(std::move(prefix)), timeout_s_(timeout_s) {
  Lease l(*this);
  l.run({"PING"});
}

RedisStore::~RedisStore() {
  for (redisContext* c : idle_) redisFree(c);
}

redisContext* RedisStore::connect() {
  timeval tv{static_cast<time_t>(timeout_s_),
             static_cast<suseconds_t>(
                 (timeout_s_ - static_cast<double>(static_cast<time_t>(timeout_s_))) * 1e6)};
  redisContext* c = addr_.unix_socket.empty()
                        ? redisConnectWithTimeout(addr_.host.c_str(), addr_.port, tv)
                        : redisConnectUnixWithTimeout(addr_.unix_socket.c_str(), tv);
  if (!c || c->err) {
    const std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw Error(
        fmt::format("cache: cannot reach redis at {}: {} (is redis-server running?)", url_, why));
  }
  redisSetTimeout(c, tv);
  auto check = [&](std::initializer_list<const char*> args) {
    std::vector<const char*> argv(args);
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), nullptr));
    const bool ok = r && r->type != REDIS_REPLY_ERROR;
    const std::string msg =
        r && r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : std::string(c->errstr);
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      throw Error(fmt::format("cache: redis at {}: {}", url_, msg));
    }
  };
  if (!addr_.password.empty()) check({"AUTH", addr_.password.c_str()});
  if (addr_.db != 0) check({"SELECT", std::to_string(addr_.db).c_str()});
  return c;
}

std::string RedisStore::scope_key(const Scope& s) const {
  return prefix_ + "s:" + hex(s.route) + ":" + hex(s.tenant) + ":" + hex(s.context);
}

std::optional<Entry> RedisStore::get(const std::string& key, int64_t) {
  Lease l(*this);
  Reply r = l.run({"GET", prefix_ + "e:" + key});
  if (r.r->type != REDIS_REPLY_STRING) return std::nullopt;
  std::string_view in(r.r->str, r.r->len);
  Entry e;
  e.key = key;
  if (!get_str(in, e.scope.route) || !get_str(in, e.scope.tenant) ||
      !get_str(in, e.scope.context) || !get_str(in, e.value))
    return std::nullopt;  // not written by us: a miss
  return e;
}

std::optional<Match> RedisStore::nearest(const Scope& scope, const Embedding& q, float threshold,
                                         int64_t now_ms) {
  std::vector<std::pair<std::string, float>> found;
  const std::string sk = scope_key(scope);
  {
    Lease l(*this);
    Reply r = l.run({"HGETALL", sk});
    if (r.r->type != REDIS_REPLY_ARRAY) return std::nullopt;
    for (size_t i = 0; i + 1 < r.r->elements; i += 2) {
      const redisReply* k = r.r->element[i];
      const redisReply* v = r.r->element[i + 1];
      if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || v->len == 0) continue;
      Embedding e;
      try {
        e = decode_embedding(std::string_view(v->str, v->len));
      } catch (const Error&) {
        continue;
      }
      const float sim = similarity(q, e);
      if (sim >= threshold) found.emplace_back(std::string(k->str, k->len), sim);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [key, sim] : found) {
    if (auto e = get(key, now_ms)) return Match{std::move(*e), sim};
    Lease l(*this);
    l.run({"HDEL", sk, key});  // expired: forget it in the scope too
  }
  return std::nullopt;
}

void RedisStore::put(const Entry& e) {
  std::string blob;
  put_str(blob, e.scope.route);
  put_str(blob, e.scope.tenant);
  put_str(blob, e.scope.context);
  put_str(blob, e.value);
  const std::string sk = scope_key(e.scope);
  Lease l(*this);
  if (e.expires_ms) {
    const int64_t ttl = std::max<int64_t>(1, e.expires_ms - unix_ms());
    const std::string ttl_s = std::to_string(ttl);
    l.run({"SET", prefix_ + "e:" + e.key, blob, "PX", ttl_s});
    l.run({"HSET", sk, e.key, encode(e.embedding)});
    // The scope outlives its newest entry by one TTL at most; stale fields are dropped on use.
    l.run({"PEXPIRE", sk, ttl_s});
  } else {
    l.run({"SET", prefix_ + "e:" + e.key, blob});
    l.run({"HSET", sk, e.key, encode(e.embedding)});
  }
}

int64_t RedisStore::invalidate(const Selector& s) {
  Lease l(*this);
  int64_t removed = 0;
  if (!s.key.empty()) {
    std::optional<Entry> e = get(s.key, 0);
    if (!e || (!s.route.empty() && e->scope.route != s.route) ||
        (!s.tenant.empty() && e->scope.tenant != s.tenant))
      return 0;
    Reply r = l.run({"DEL", prefix_ + "e:" + s.key});
    l.run({"HDEL", scope_key(e->scope), s.key});
    return r.r->integer;
  }
  const std::string pattern = prefix_ + "s:" + (s.route.empty() ? "*" : hex(s.route)) + ":" +
                              (s.tenant.empty() ? "*" : hex(s.tenant)) + ":*";
  std::string cursor = "0";
  do {
    Reply page = l.run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (page.r->type != REDIS_REPLY_ARRAY || page.r->elements != 2) break;
    cursor.assign(page.r->element[0]->str, page.r->element[0]->len);
    const redisReply* keys = page.r->element[1];
    for (size_t i = 0; i < keys->elements; ++i) {
      const std::string sk(keys->element[i]->str, keys->element[i]->len);
      Reply fields = l.run({"HKEYS", sk});
      for (size_t j = 0; j < fields.r->elements; ++j) {
        Reply d = l.run(
            {"DEL",
             prefix_ + "e:" + std::string(fields.r->element[j]->str, fields.r->element[j]->len)});
        removed += d.r->integer;
      }
      l.run({"DEL", sk});
    }
  } while (cursor != "0");
  return removed;
}

StoreStats RedisStore::stats() {
  Lease l(*this);
  StoreStats st;
  st.entries = 0;
  std::string cursor = "0";
  do {
    Reply page = l.run({"SCAN", cursor, "MATCH", prefix_ + "e:*", "COUNT", "1000"});
    if (page.r->type != REDIS_REPLY_ARRAY || page.r->elements != 2) break;
    cursor.assign(page.r->element[0]->str, page.r->element[0]->len);
    st.entries += static_cast<int64_t>(page.r->element[1]->elements);
  } while (cursor != "0");
  return st;
}

}  // namespace rs::cache
