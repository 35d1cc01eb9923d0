// The route policy: which target answers a request, given its intent (router/intent_classifier.h)
// and a few facts about it. Plain data from the YAML config (docs/config.md, `router`), so the
// decision is a pure function that tests can call without a server.
//
//   intent -> route (a local specialist: model + adapter + prompt template + output constraint)
//   escalate to the upstream LLM when: out of scope, confidence below the threshold, no route
//   for the intent, the prompt is longer than the limit, the client asks for it
//   (x-rightsize-escalate), or the local answer fails validation (the cascade, decided after
//   generation by validate_answer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rs::router {

// What happens to a request that contains personal data (router/pii_guard.h) before anything
// leaves the machine: kRedact replaces the values with placeholders in what the upstream sees
// (and restores them in its answer); kPin keeps the request on local models.
enum class PiiAction { kDefault, kOff, kRedact, kPin };
const char* pii_action_name(PiiAction a);  // "default", "off", "redact", "pin"

// A route's response-cache overrides (unset: the `cache` section's defaults).
struct RouteCache {
  std::optional<bool> enabled, semantic, nondeterministic;
  std::optional<float> similarity;
};

struct Route {
  std::string name;                  // reported in x-rightsize-route and the ledger
  std::vector<std::string> intents;  // classifier labels this route serves
  std::string model;                 // a served model, "MODEL" or "MODEL:ADAPTER"
  // The prompt the specialist sees: "{text}" is replaced by the request's last user message and
  // the result is completed as plain text. Empty: the request's messages go through the model's
  // chat template unchanged (after `system_prompt`, when set).
  std::string prompt_template;
  std::string system_prompt;
  std::vector<std::string> labels;  // the answer must be one of these (trimmed, any case)
  bool json_answer = false;         // the answer must be a JSON value
  int64_t max_tokens = 0;           // 0: the request's max_tokens
  RouteCache cache;
  PiiAction pii = PiiAction::kDefault;
};

struct Escalation {
  double min_confidence = 0;        // confidence below this escalates (0: the classifier's own)
  bool out_of_scope = true;         // oos intents go to the upstream
  int64_t max_prompt_tokens = 0;    // longer prompts go to the upstream; 0: no limit
  bool on_invalid_answer = true;    // cascade when validate_answer fails
  bool allow_client_header = true;  // honour x-rightsize-escalate: 1
};

struct TenantBudget {
  std::string tenant;
  double upstream_usd = 0;  // spend on the upstream LLM allowed to this tenant; 0: unlimited
};

struct RouterConfig {
  std::string name = "auto";  // the "model" clients send to be routed
  std::string classifier;     // router file (rightsize train-router --out)
  std::string upstream;       // name of the upstream to escalate to; "" = never
  std::string default_route;  // route for in-scope intents no route lists; "" = escalate
  Escalation escalate;
  std::vector<Route> routes;
  std::vector<TenantBudget> budgets;
  std::string decision_log;  // SQLite file of every decision; "" = none
  std::string tenant_header = "x-rightsize-tenant";

  // rs::Error for contradictions (an intent in two routes, unknown default route, ...).
  void validate() const;
};

enum class Action { kLocal, kUpstream };

// Why a request went where it went; the strings appear in headers, metrics and the decision log.
enum class Reason {
  kIntent,        // the intent's route answered
  kDefaultRoute,  // no route lists the intent: the default route answered
  kOutOfScopeIntent,
  kLowConfidence,
  kNoRoute,
  kPromptTooLong,
  kClientHeader,
  kInvalidAnswer,    // the local answer failed validation (cascade)
  kLocalFailed,      // the local model could not answer (timeout, queue full): escalated
  kUpstreamFailed,   // escalation failed; the local answer was used instead
  kBudgetExhausted,  // escalation refused by the tenant's budget; the local answer was used
  kPiiPinned,        // the request holds personal data and its route keeps it local
};
const char* reason_name(Reason r);

struct Decision {
  Action action = Action::kUpstream;
  const Route* route = nullptr;  // the local candidate, also when escalating (for fallbacks)
  Reason reason = Reason::kNoRoute;
};

struct RequestFacts {
  std::string_view intent;  // classifier label
  float confidence = 0;
  bool out_of_scope = false;
  int64_t prompt_tokens = 0;  // as the local candidate would see them
  bool client_escalate = false;
};

class RoutePolicy {
 public:
  explicit RoutePolicy(RouterConfig cfg);
  const RouterConfig& config() const { return cfg_; }

  // The route for an intent: the one listing it, else the default route, else nullptr.
  const Route* route_for(std::string_view intent) const;
  Decision decide(const RequestFacts& f) const;
  // 0 when the tenant has no budget.
  double upstream_budget(std::string_view tenant) const;

 private:
  RouterConfig cfg_;
};

// Whether `answer` satisfies the route's output constraint; `why` says what is wrong.
bool validate_answer(const Route& route, std::string_view answer, std::string* why);

// `tmpl` with every "{text}" replaced by `text`.
std::string fill_template(std::string_view tmpl, std::string_view text);

}  // namespace rs::router
