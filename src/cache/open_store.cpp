#include "cache/open_store.h"

#include "cache/memory_store.h"
#include "cache/redis_store.h"
#include "cache/sqlite_store.h"
#include "core/error.h"

namespace rs::cache {

std::unique_ptr<Store> open_store(const StoreConfig& cfg) {
  RS_CHECK(cfg.limits.max_entries > 0 && cfg.limits.max_bytes > 0,
           "cache: max_entries and max_bytes must be positive");
  if (cfg.backend == "memory") return std::make_unique<MemoryStore>(cfg.limits);
  if (cfg.backend == "sqlite") {
    RS_CHECK(!cfg.path.empty(), "cache: the sqlite back end needs 'path' (a file to keep it in)");
    return std::make_unique<SqliteStore>(cfg.path, cfg.limits);
  }
  if (cfg.backend == "redis")
    return std::make_unique<RedisStore>(cfg.redis_url, cfg.redis_prefix, cfg.redis_timeout_s);
  throw Error("cache: backend '" + cfg.backend + "' is not one of memory, sqlite, redis");
}

}  // namespace rs::cache
