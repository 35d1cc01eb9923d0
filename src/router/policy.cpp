#include "router/policy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/error.h"

namespace rs::router {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::kIntent:
      return "intent";
    case Reason::kDefaultRoute:
      return "default_route";
    case Reason::kOutOfScopeIntent:
      return "out_of_scope";
    case Reason::kLowConfidence:
      return "low_confidence";
    case Reason::kNoRoute:
      return "no_route";
    case Reason::kPromptTooLong:
      return "prompt_too_long";
    case Reason::kClientHeader:
      return "client_header";
    case Reason::kInvalidAnswer:
      return "invalid_answer";
    case Reason::kLocalFailed:
      return "local_failed";
    case Reason::kUpstreamFailed:
      return "upstream_failed";
    case Reason::kBudgetExhausted:
      return "budget_exhausted";
    case Reason::kPiiPinned:
      return "pii_pinned";
  }
  return "unknown";
}

const char* pii_action_name(PiiAction a) {
  switch (a) {
    case PiiAction::kDefault:
      return "default";
    case PiiAction::kOff:
      return "off";
    case PiiAction::kRedact:
      return "redact";
    case PiiAction::kPin:
      return "pin";
  }
  return "unknown";
}

void RouterConfig::validate() const {
  RS_CHECK(!name.empty(), "router: 'name' (the model clients send to be routed) is empty");
  RS_CHECK(!classifier.empty(),
           "router: 'classifier' (a file from rightsize train-router) is "
           "required");
  RS_CHECK(escalate.min_confidence >= 0 && escalate.min_confidence <= 1,
           "router: escalate.min_confidence must be in [0, 1]");
  RS_CHECK(escalate.max_prompt_tokens >= 0, "router: escalate.max_prompt_tokens is negative");
  std::set<std::string> names, intents;
  for (const Route& r : routes) {
    RS_CHECK(!r.name.empty() && !r.model.empty(), "router: every route needs a name and a model");
    RS_CHECK(names.insert(r.name).second, "router: two routes are named '{}'", r.name);
    RS_CHECK(r.max_tokens >= 0, "router: route {}: max_tokens is negative", r.name);
    for (const auto& i : r.intents)
      RS_CHECK(intents.insert(i).second, "router: intent '{}' is in two routes", i);
  }
  RS_CHECK(default_route.empty() || names.count(default_route),
           "router: default_route '{}' is not one of the routes", default_route);
  RS_CHECK(!routes.empty() || !upstream.empty(),
           "router: no routes and no upstream: there is nothing to route to");
  for (const auto& b : budgets)
    RS_CHECK(b.upstream_usd >= 0, "router: tenant {}: the budget is negative", b.tenant);
}

RoutePolicy::RoutePolicy(RouterConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
}

const Route* RoutePolicy::route_for(std::string_view intent) const {
  for (const Route& r : cfg_.routes)
    if (std::find(r.intents.begin(), r.intents.end(), intent) != r.intents.end()) return &r;
  for (const Route& r : cfg_.routes)
    if (r.name == cfg_.default_route) return &r;
  return nullptr;
}

Decision RoutePolicy::decide(const RequestFacts& f) const {
  Decision d;
  d.route = f.out_of_scope ? nullptr : route_for(f.intent);
  const bool listed = d.route && d.route->name != cfg_.default_route;
  const bool can_escalate = !cfg_.upstream.empty();
  auto escalate = [&](Reason r) {
    d.action = Action::kUpstream;
    d.reason = r;
    return d;
  };
  if (f.client_escalate && cfg_.escalate.allow_client_header && can_escalate)
    return escalate(Reason::kClientHeader);
  if (f.out_of_scope && cfg_.escalate.out_of_scope && can_escalate)
    return escalate(Reason::kOutOfScopeIntent);
  if (!d.route) return escalate(f.out_of_scope ? Reason::kOutOfScopeIntent : Reason::kNoRoute);
  if (can_escalate && f.confidence < cfg_.escalate.min_confidence)
    return escalate(Reason::kLowConfidence);
  if (can_escalate && cfg_.escalate.max_prompt_tokens > 0 &&
      f.prompt_tokens > cfg_.escalate.max_prompt_tokens)
    return escalate(Reason::kPromptTooLong);
  d.action = Action::kLocal;
  d.reason = listed ? Reason::kIntent : Reason::kDefaultRoute;
  return d;
}

double RoutePolicy::upstream_budget(std::string_view tenant) const {
  for (const auto& b : cfg_.budgets)
    if (b.tenant == tenant) return b.upstream_usd;
  return 0;
}

bool validate_answer(const Route& route, std::string_view answer, std::string* why) {
  const std::string_view a = trim(answer);
  if (!route.labels.empty()) {
    for (const auto& l : route.labels)
      if (iequals(a, l)) return true;
    if (why) *why = fmt::format("answer is not one of the route's {} labels", route.labels.size());
    return false;
  }
  if (route.json_answer && !nlohmann::json::accept(a)) {
    if (why) *why = "answer is not valid JSON";
    return false;
  }
  return true;
}

std::string fill_template(std::string_view tmpl, std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (size_t at; (at = tmpl.find("{text}", pos)) != std::string_view::npos; pos = at + 6) {
    out.append(tmpl.substr(pos, at - pos));
    out.append(text);
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace rs::router
