// The `upstreams` and `router` sections of rightsize.yaml (docs/config.md documents every key).
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <set>

#include "server/config.h"
#include "server/yaml_util.h"

namespace rs::server {

using yaml::check_keys;
using yaml::read;
using yaml::where;

namespace {

// {url, model, api_key, api_key_env, headers}: one endpoint of an upstream.
upstream::Endpoint read_endpoint(const YAML::Node& n, const std::string& section) {
  upstream::Endpoint e;
  read(n, "url", e.base_url);
  read(n, "model", e.model);
  read(n, "api_key", e.api_key);
  read(n, "headers", e.headers);
  if (std::string key = yaml::read_env(n, "api_key_env", section); !key.empty())
    e.api_key = std::move(key);
  RS_CHECK(!e.base_url.empty(), "config: {} needs a 'url' ({})", section, where(n));
  upstream::join_url(e.base_url, "chat/completions");  // rs::Error for a URL curl cannot use
  return e;
}

}  // namespace

std::vector<UpstreamConfig> read_upstreams(const YAML::Node& list) {
  RS_CHECK(list.IsSequence(), "config: 'upstreams' must be a list ({})", where(list));
  std::vector<UpstreamConfig> out;
  for (const auto& n : list) {
    check_keys(
        n, "upstreams[]",
        {"name", "url", "model", "api_key", "api_key_env", "headers", "fallbacks", "timeout_s",
         "connect_timeout_s", "max_retries", "backoff_initial_s", "backoff_max_s",
         "breaker_failures", "breaker_cooldown_s", "price_input_per_1m", "price_output_per_1m"});
    UpstreamConfig u;
    read(n, "name", u.name);
    RS_CHECK(!u.name.empty(), "config: an upstream ({}) has no 'name'", where(n));
    u.endpoints.push_back(read_endpoint(n, "upstream " + u.name));
    if (const YAML::Node f = n["fallbacks"]) {
      RS_CHECK(f.IsSequence(), "config: upstream {}: 'fallbacks' must be a list ({})", u.name,
               where(f));
      for (const auto& e : f) {
        check_keys(e, "fallbacks[]", {"url", "model", "api_key", "api_key_env", "headers"});
        u.endpoints.push_back(read_endpoint(e, "a fallback of upstream " + u.name));
      }
    }
    read(n, "timeout_s", u.client.timeout_s);
    read(n, "connect_timeout_s", u.client.connect_timeout_s);
    read(n, "max_retries", u.client.max_retries);
    read(n, "backoff_initial_s", u.client.backoff_initial_s);
    read(n, "backoff_max_s", u.client.backoff_max_s);
    read(n, "breaker_failures", u.client.breaker_failures);
    read(n, "breaker_cooldown_s", u.client.breaker_cooldown_s);
    read(n, "price_input_per_1m", u.prices.input_per_1m);
    read(n, "price_output_per_1m", u.prices.output_per_1m);
    RS_CHECK(u.client.timeout_s > 0 && u.client.max_retries >= 0 && u.prices.input_per_1m >= 0 &&
                 u.prices.output_per_1m >= 0,
             "config: upstream {}: timeouts must be positive, retries and prices not negative",
             u.name);
    out.push_back(std::move(u));
  }
  return out;
}

router::RouterConfig read_router(const YAML::Node& r, const std::filesystem::path& base) {
  check_keys(r, "router",
             {"name", "classifier", "upstream", "default_route", "escalate", "routes", "budgets",
              "decision_log", "tenant_header"});
  router::RouterConfig rc;
  read(r, "name", rc.name);
  read(r, "classifier", rc.classifier);
  read(r, "upstream", rc.upstream);
  read(r, "default_route", rc.default_route);
  read(r, "decision_log", rc.decision_log);
  read(r, "tenant_header", rc.tenant_header);
  for (std::string* p : {&rc.classifier, &rc.decision_log})
    if (!p->empty() && std::filesystem::path(*p).is_relative()) *p = (base / *p).string();
  if (const YAML::Node e = r["escalate"]) {
    check_keys(e, "router.escalate",
               {"min_confidence", "out_of_scope", "max_prompt_tokens", "on_invalid_answer",
                "client_header"});
    read(e, "min_confidence", rc.escalate.min_confidence);
    read(e, "out_of_scope", rc.escalate.out_of_scope);
    read(e, "max_prompt_tokens", rc.escalate.max_prompt_tokens);
    read(e, "on_invalid_answer", rc.escalate.on_invalid_answer);
    read(e, "client_header", rc.escalate.allow_client_header);
  }
  if (const YAML::Node routes = r["routes"]) {
    RS_CHECK(routes.IsSequence(), "config: 'router.routes' must be a list ({})", where(routes));
    for (const auto& n : routes) {
      check_keys(n, "router.routes[]",
                 {"name", "intents", "model", "prompt_template", "system_prompt", "labels",
                  "json_answer", "max_tokens", "cache", "pii"});
      router::Route route;
      read(n, "name", route.name);
      read(n, "intents", route.intents);
      read(n, "model", route.model);
      read(n, "prompt_template", route.prompt_template);
      read(n, "system_prompt", route.system_prompt);
      read(n, "labels", route.labels);
      read(n, "json_answer", route.json_answer);
      read(n, "max_tokens", route.max_tokens);
      if (const YAML::Node c = n["cache"]) {
        check_keys(c, "router.routes[].cache",
                   {"enabled", "semantic", "similarity", "nondeterministic"});
        auto opt = [&](const char* key, auto& out) {
          if (!c[key]) return;
          std::remove_reference_t<decltype(*out)> v{};
          read(c, key, v);
          out = v;
        };
        opt("enabled", route.cache.enabled);
        opt("semantic", route.cache.semantic);
        opt("nondeterministic", route.cache.nondeterministic);
        opt("similarity", route.cache.similarity);
        RS_CHECK(!route.cache.similarity ||
                     (*route.cache.similarity > 0 && *route.cache.similarity <= 1),
                 "config: route {}: cache.similarity must be in (0, 1]", route.name);
      }
      if (n["pii"]) {
        std::string action;
        read(n, "pii", action);
        route.pii = parse_pii_action(action, "route " + route.name + " pii");
      }
      rc.routes.push_back(std::move(route));
    }
  }
  if (const YAML::Node b = r["budgets"]) {
    RS_CHECK(b.IsSequence(), "config: 'router.budgets' must be a list ({})", where(b));
    for (const auto& n : b) {
      check_keys(n, "router.budgets[]", {"tenant", "upstream_usd"});
      router::TenantBudget tb;
      read(n, "tenant", tb.tenant);
      read(n, "upstream_usd", tb.upstream_usd);
      rc.budgets.push_back(std::move(tb));
    }
  }
  return rc;
}

void validate_routing(const ServerConfig& cfg) {
  std::set<std::string> upstreams;
  for (const auto& u : cfg.upstreams)
    RS_CHECK(upstreams.insert(u.name).second, "config: two upstreams are named '{}'", u.name);
  if (!cfg.router) return;
  const router::RouterConfig& rc = *cfg.router;
  rc.validate();
  RS_CHECK(rc.upstream.empty() || upstreams.count(rc.upstream),
           "router: upstream '{}' is not in 'upstreams'", rc.upstream);
  for (const auto& m : cfg.models)
    RS_CHECK(m.name != rc.name, "router: its name '{}' is also a model's name", rc.name);
  for (const auto& route : rc.routes) {
    const std::string base = route.model.substr(0, route.model.find(':'));
    bool found = false;
    for (const auto& m : cfg.models) found = found || m.name == base;
    RS_CHECK(found, "router: route {} names model '{}', which is not served", route.name,
             route.model);
  }
}

}  // namespace rs::server
