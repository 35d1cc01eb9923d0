// The `cache` section of rightsize.yaml (docs/config.md) as far as storage goes, and the back end
// it selects.
#pragma once

#include <memory>
#include <string>

#include "cache/store.h"

namespace rs::cache {

struct StoreConfig {
  std::string backend = "memory";  // memory | sqlite | redis
  std::string path;                // sqlite: the file
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string redis_prefix = "rightsize:cache:";
  double redis_timeout_s = 1.0;
  Limits limits;
};

// rs::Error naming the back end and what to fix when it cannot be opened.
std::unique_ptr<Store> open_store(const StoreConfig& cfg);

}  // namespace rs::cache
