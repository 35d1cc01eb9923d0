#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "model/kv_cache.h"
#include "server/yaml_util.h"

namespace rs::server {

using yaml::check_keys;
using yaml::read;
using yaml::where;

bool is_valid_adapter_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void ServerConfig::validate() const {
  validate_routing(*this);
  RS_CHECK(!models.empty(), "no model to serve: pass -m MODEL or list models in --config");
  RS_CHECK(port >= 0 && port <= 65535, "port {} is out of range", port);
  RS_CHECK(max_body_bytes > 0, "max_body_bytes must be positive");
  RS_CHECK(request_timeout_s > 0, "request_timeout_s must be positive");
  RS_CHECK(!api_keys.empty() || allow_unauthenticated_remote || is_loopback_host(host),
           "refusing to listen on {} without an API key: anyone on the network could use it. Set "
           "an API key "
           "(--api-key, RIGHTSIZE_API_KEY or server.api_keys) or bind to 127.0.0.1",
           host);
  RS_CHECK(!cache || router, "config: 'cache' caches routed requests, so it needs a 'router'");
  RS_CHECK(!pii || router, "config: 'pii' guards routed requests, so it needs a 'router'");
  if (cache && cache->embedder != "router") {
    bool found = false;
    for (const auto& m : models) found = found || m.name == cache->embedder;
    RS_CHECK(found, "config: cache.embedder '{}' is not a served model (or 'router')",
             cache->embedder);
  }
  std::set<std::string> names;
  for (const auto& m : models) {
    RS_CHECK(!m.name.empty() && !m.path.empty(), "every model needs a name and a path");
    RS_CHECK(names.insert(m.name).second, "config: two models are named '{}'", m.name);
    RS_CHECK(m.parallel >= 1 && m.parallel <= 256, "model {}: parallel must be in [1, 256]",
             m.name);
    RS_CHECK(m.ctx_size >= 8, "model {}: ctx_size must be at least 8", m.name);
    RS_CHECK(parse_kv_type(m.kv_type).has_value(), "model {}: kv_type must be f16 or f32, got '{}'",
             m.name, m.kv_type);
    RS_CHECK(m.batch_tokens >= 1, "model {}: batch_tokens must be positive", m.name);
    RS_CHECK(m.queue >= 0, "model {}: queue cannot be negative", m.name);
    RS_CHECK(m.price_per_hour >= 0, "model {}: price_per_hour cannot be negative", m.name);
    RS_CHECK(m.name.find(':') == std::string::npos,
             "model name '{}' contains ':', which separates a model from its adapter "
             "(MODEL:ADAPTER)",
             m.name);
    std::set<std::string> adapter_names;
    for (const auto& a : m.adapters) {
      RS_CHECK(is_valid_adapter_name(a.name),
               "model {}: adapter name '{}' must be 1-64 letters, digits, '-', '_' or '.'", m.name,
               a.name);
      RS_CHECK(adapter_names.insert(a.name).second, "model {}: two adapters are named '{}'", m.name,
               a.name);
    }
  }
}

ServerConfig load_server_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail("cannot read config file {}", path);
  } catch (const YAML::Exception& e) {
    fail("config {}: {}", path, e.what());
  }
  ServerConfig cfg;
  if (!root || root.IsNull()) fail("config {} is empty", path);
  check_keys(root, "top level", {"server", "models", "upstreams", "router", "cache", "pii"});
  const std::filesystem::path base = std::filesystem::path(path).parent_path();

  if (const YAML::Node s = root["server"]) {
    check_keys(s, "server",
               {"host", "port", "api_keys", "api_key_env", "allow_unauthenticated_remote",
                "max_body_bytes", "request_timeout_s", "shutdown_grace_s", "http_threads",
                "runtime_adapters", "admin_api_keys", "admin_api_key_env"});
    read(s, "host", cfg.host);
    read(s, "port", cfg.port);
    read(s, "api_keys", cfg.api_keys);
    read(s, "allow_unauthenticated_remote", cfg.allow_unauthenticated_remote);
    read(s, "max_body_bytes", cfg.max_body_bytes);
    read(s, "request_timeout_s", cfg.request_timeout_s);
    read(s, "shutdown_grace_s", cfg.shutdown_grace_s);
    read(s, "http_threads", cfg.http_threads);
    read(s, "runtime_adapters", cfg.runtime_adapters);
    if (std::string key = yaml::read_env(s, "api_key_env", "server"); !key.empty())
      cfg.api_keys.push_back(std::move(key));
    read(s, "admin_api_keys", cfg.admin_api_keys);
    if (std::string key = yaml::read_env(s, "admin_api_key_env", "server"); !key.empty())
      cfg.admin_api_keys.push_back(std::move(key));
  }
  const YAML::Node models = root["models"];
  RS_CHECK(models && models.IsSequence(), "config {}: 'models' must be a list of models", path);
  for (const auto& m : models) {
    check_keys(m, "models[]",
               {"name", "path", "tokenizer", "chat_template", "parallel", "ctx_size", "kv_type",
                "batch_tokens", "queue", "threads", "adapters", "price_per_hour"});
    ModelConfig mc;
    read(m, "name", mc.name);
    read(m, "path", mc.path);
    read(m, "tokenizer", mc.tokenizer);
    read(m, "chat_template", mc.chat_template);
    read(m, "parallel", mc.parallel);
    read(m, "ctx_size", mc.ctx_size);
    read(m, "kv_type", mc.kv_type);
    read(m, "batch_tokens", mc.batch_tokens);
    read(m, "queue", mc.queue);
    read(m, "threads", mc.threads);
    read(m, "price_per_hour", mc.price_per_hour);
    RS_CHECK(!mc.path.empty(), "config: a model ({}) has no 'path'", where(m));
    auto resolve = [&](std::string& p) {
      if (!p.empty() && std::filesystem::path(p).is_relative()) p = (base / p).string();
    };
    resolve(mc.path);
    resolve(mc.tokenizer);
    if (const YAML::Node ads = m["adapters"]) {
      RS_CHECK(ads.IsSequence(), "config: 'adapters' must be a list of {{name, path}} ({})",
               where(ads));
      for (const auto& a : ads) {
        check_keys(a, "adapters[]", {"name", "path"});
        AdapterConfig ac;
        read(a, "name", ac.name);
        read(a, "path", ac.path);
        RS_CHECK(!ac.name.empty() && !ac.path.empty(),
                 "config: an adapter ({}) needs a 'name' and a 'path'", where(a));
        resolve(ac.path);
        mc.adapters.push_back(std::move(ac));
      }
    }
    if (mc.name.empty()) mc.name = std::filesystem::path(mc.path).stem().string();
    cfg.models.push_back(std::move(mc));
  }
  if (const YAML::Node u = root["upstreams"]) cfg.upstreams = read_upstreams(u);
  if (const YAML::Node r = root["router"]) cfg.router = read_router(r, base);
  if (const YAML::Node c = root["cache"]) cfg.cache = read_cache(c, base);
  if (const YAML::Node p = root["pii"]) cfg.pii = read_pii(p, cfg.pii_action);
  cfg.validate();
  return cfg;
}

}  // namespace rs::server
