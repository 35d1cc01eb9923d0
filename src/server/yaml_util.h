// Reading the YAML config strictly: every key known, every value of the right type, errors that
// name the key and the line (shared by config.cpp and router_config.cpp).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <set>
#include <string>

#include "core/error.h"

namespace rs::server::yaml {

inline std::string where(const YAML::Node& n) {
  return fmt::format("line {}", n.Mark().line + 1);
}

// Every key of a mapping must be one of `known`.
inline void check_keys(const YAML::Node& map, const std::string& section,
                       const std::set<std::string>& known) {
  RS_CHECK(map.IsMap(), "config: '{}' must be a mapping ({})", section, where(map));
  for (const auto& kv : map) {
    const auto key = kv.first.as<std::string>();
    RS_CHECK(known.count(key), "config: unknown key '{}' in '{}' ({}); known keys: {}", key,
             section, where(kv.first), fmt::join(known, ", "));
  }
}

template <typename T>
void read(const YAML::Node& map, const char* key, T& out) {
  const YAML::Node n = map[key];
  if (!n) return;
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    fail("config: '{}' has the wrong type ({})", key, where(n));
  }
}

// The value of the environment variable named by `map[key]` (e.g. api_key_env); "" when the key
// is absent, rs::Error when it names a variable that is not set.
inline std::string read_env(const YAML::Node& map, const char* key, const std::string& section) {
  std::string var;
  read(map, key, var);
  if (var.empty()) return "";
  const char* v = std::getenv(var.c_str());
  RS_CHECK(v && *v, "config: {} {} names {}, but that environment variable is not set", section,
           key, var);
  return v;
}

}  // namespace rs::server::yaml
