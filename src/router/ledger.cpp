#include "router/ledger.h"

namespace rs::router {
namespace {

void add(LedgerTotals& t, const LedgerEntry& e) {
  ++t.requests;
  (e.cache_hit() ? t.cached : e.escalated ? t.escalated : t.local) += 1;
  t.prompt_tokens += e.prompt_tokens;
  t.completion_tokens += e.completion_tokens;
  t.cost_usd += e.cost_usd;
  t.baseline_usd += e.baseline_usd;
}

}  // namespace

double hosted_cost_usd(const TokenPrices& p, int64_t prompt_tokens, int64_t completion_tokens) {
  return (static_cast<double>(prompt_tokens) * p.input_per_1m +
          static_cast<double>(completion_tokens) * p.output_per_1m) /
         1e6;
}

double local_cost_usd(double price_per_hour, double compute_ms) {
  return price_per_hour * compute_ms / 3.6e6;
}

void CostLedger::record(const LedgerEntry& e) {
  std::lock_guard lk(mu_);
  add(total_, e);
  add(by_route_[e.route], e);
  add(by_tenant_[e.tenant], e);
  if (e.escalated) upstream_spend_[e.tenant] += e.cost_usd;
}

LedgerTotals CostLedger::total() const {
  std::lock_guard lk(mu_);
  return total_;
}

std::map<std::string, LedgerTotals> CostLedger::by_route() const {
  std::lock_guard lk(mu_);
  return by_route_;
}

std::map<std::string, LedgerTotals> CostLedger::by_tenant() const {
  std::lock_guard lk(mu_);
  return by_tenant_;
}

double CostLedger::upstream_spend(const std::string& tenant) const {
  std::lock_guard lk(mu_);
  auto it = upstream_spend_.find(tenant);
  return it == upstream_spend_.end() ? 0 : it->second;
}

}  // namespace rs::router
