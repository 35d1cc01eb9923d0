// The `cache` and `pii` sections of rightsize.yaml (docs/config.md documents every key).
#include <yaml-cpp/yaml.h>

#include "server/config.h"
#include "server/yaml_util.h"

namespace rs::server {

using yaml::check_keys;
using yaml::read;
using yaml::where;

CacheConfig read_cache(const YAML::Node& c, const std::filesystem::path& base) {
  check_keys(
      c, "cache",
      {"backend", "path", "redis_url", "redis_prefix", "redis_timeout_s", "ttl_s", "max_entries",
       "max_bytes", "semantic", "similarity", "nondeterministic", "embedder"});
  CacheConfig cc;
  read(c, "backend", cc.store.backend);
  read(c, "path", cc.store.path);
  read(c, "redis_url", cc.store.redis_url);
  read(c, "redis_prefix", cc.store.redis_prefix);
  read(c, "redis_timeout_s", cc.store.redis_timeout_s);
  read(c, "ttl_s", cc.ttl_s);
  read(c, "max_entries", cc.store.limits.max_entries);
  read(c, "max_bytes", cc.store.limits.max_bytes);
  read(c, "semantic", cc.defaults.semantic);
  read(c, "similarity", cc.defaults.similarity);
  read(c, "nondeterministic", cc.defaults.nondeterministic);
  read(c, "embedder", cc.embedder);
  RS_CHECK(
      cc.store.backend == "memory" || cc.store.backend == "sqlite" || cc.store.backend == "redis",
      "config: cache.backend '{}' must be memory, sqlite or redis ({})", cc.store.backend,
      where(c));
  if (cc.store.backend == "sqlite") {
    RS_CHECK(!cc.store.path.empty(), "config: cache.backend sqlite needs cache.path, a file ({})",
             where(c));
    if (std::filesystem::path(cc.store.path).is_relative())
      cc.store.path = (base / cc.store.path).string();
  }
  RS_CHECK(cc.ttl_s >= 0, "config: cache.ttl_s cannot be negative");
  RS_CHECK(cc.store.limits.max_entries > 0 && cc.store.limits.max_bytes > 0,
           "config: cache.max_entries and cache.max_bytes must be positive");
  RS_CHECK(cc.defaults.similarity > 0 && cc.defaults.similarity <= 1,
           "config: cache.similarity must be in (0, 1]");
  RS_CHECK(cc.store.redis_timeout_s > 0, "config: cache.redis_timeout_s must be positive");
  return cc;
}

router::PiiAction parse_pii_action(const std::string& s, const std::string& what) {
  if (s == "off") return router::PiiAction::kOff;
  if (s == "redact") return router::PiiAction::kRedact;
  if (s == "pin") return router::PiiAction::kPin;
  fail("config: {} is '{}'; it must be redact, pin or off", what, s);
}

router::PiiConfig read_pii(const YAML::Node& p, router::PiiAction& default_action) {
  check_keys(p, "pii", {"action", "email", "phone", "card", "iban", "national_ids"});
  router::PiiConfig pc;
  std::string action = "redact";
  read(p, "action", action);
  default_action = parse_pii_action(action, "pii.action");
  read(p, "email", pc.email);
  read(p, "phone", pc.phone);
  read(p, "card", pc.card);
  read(p, "iban", pc.iban);
  if (const YAML::Node ids = p["national_ids"]) {
    RS_CHECK(ids.IsSequence(), "config: 'pii.national_ids' must be a list of {{name, regex}} ({})",
             where(ids));
    for (const auto& n : ids) {
      check_keys(n, "pii.national_ids[]", {"name", "regex"});
      router::PiiPattern pat;
      read(n, "name", pat.name);
      read(n, "regex", pat.regex);
      RS_CHECK(!pat.name.empty() && !pat.regex.empty(),
               "config: a national id pattern ({}) needs a 'name' and a 'regex'", where(n));
      pc.national_ids.push_back(std::move(pat));
    }
  }
  return pc;
}

}  // namespace rs::server
