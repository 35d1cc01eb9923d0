// The route policy's decisions, answer validation, the cost ledger's arithmetic and the SQLite
// decision log (written, reopened, read back with plain SQL).
#include "router/policy.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/error.h"
#include "router/decision_log.h"
#include "router/ledger.h"

namespace rs::router {
namespace {

RouterConfig config() {
  RouterConfig c;
  c.classifier = "router.bin";
  c.upstream = "llm";
  c.escalate.min_confidence = 0.5;
  c.escalate.max_prompt_tokens = 100;
  Route spam;
  spam.name = "spam";
  spam.intents = {"spam_check"};
  spam.model = "small:spam";
  spam.prompt_template = "Message: {text}\nLabel:";
  spam.labels = {"spam", "ham"};
  Route faq;
  faq.name = "faq";
  faq.intents = {"hours", "address"};
  faq.model = "small";
  faq.system_prompt = "Be brief.";
  c.routes = {spam, faq};
  return c;
}

Decision decide(const RoutePolicy& p, std::string_view intent, float conf, bool oos = false,
                int64_t tokens = 10, bool header = false) {
  return p.decide({intent, conf, oos, tokens, header});
}

TEST(RoutePolicy, Decisions) {
  const RoutePolicy p(config());
  Decision d = decide(p, "hours", 0.9f);
  EXPECT_EQ(d.action, Action::kLocal);
  EXPECT_EQ(d.reason, Reason::kIntent);
  EXPECT_EQ(d.route->name, "faq");
  EXPECT_EQ(decide(p, "spam_check", 0.9f).route->name, "spam");

  d = decide(p, "oos", 0.9f, /*oos=*/true);
  EXPECT_EQ(d.action, Action::kUpstream);
  EXPECT_EQ(d.reason, Reason::kOutOfScopeIntent);
  EXPECT_EQ(d.route, nullptr);
  d = decide(p, "hours", 0.4f);
  EXPECT_EQ(d.action, Action::kUpstream);
  EXPECT_EQ(d.reason, Reason::kLowConfidence);
  EXPECT_EQ(d.route->name, "faq");  // kept as the fallback if the upstream fails
  EXPECT_EQ(decide(p, "hours", 0.9f, false, 101).reason, Reason::kPromptTooLong);
  EXPECT_EQ(decide(p, "hours", 0.9f, false, 100).action, Action::kLocal);
  EXPECT_EQ(decide(p, "hours", 0.9f, false, 10, true).reason, Reason::kClientHeader);
  EXPECT_EQ(decide(p, "weather", 0.9f).reason, Reason::kNoRoute);
}

TEST(RoutePolicy, DefaultRouteAndNoUpstream) {
  RouterConfig c = config();
  c.default_route = "faq";
  const RoutePolicy with_default(c);
  Decision d = decide(with_default, "weather", 0.9f);
  EXPECT_EQ(d.action, Action::kLocal);
  EXPECT_EQ(d.reason, Reason::kDefaultRoute);
  EXPECT_EQ(d.route->name, "faq");

  c.upstream.clear();  // nothing to escalate to: low confidence stays local
  const RoutePolicy local_only(c);
  EXPECT_EQ(decide(local_only, "hours", 0.1f).action, Action::kLocal);
  EXPECT_EQ(decide(local_only, "hours", 0.9f, false, 10, true).action, Action::kLocal);
}

TEST(RoutePolicy, ConfigContradictionsAreErrors) {
  RouterConfig c = config();
  c.routes[1].intents.push_back("spam_check");
  EXPECT_THROW(RoutePolicy{c}, Error);
  c = config();
  c.default_route = "nope";
  EXPECT_THROW(RoutePolicy{c}, Error);
  c = config();
  c.routes[1].name = "spam";
  EXPECT_THROW(RoutePolicy{c}, Error);
  c = config();
  c.escalate.min_confidence = 2;
  EXPECT_THROW(RoutePolicy{c}, Error);
  c = config();
  c.classifier.clear();
  EXPECT_THROW(RoutePolicy{c}, Error);
}

TEST(RoutePolicy, Budgets) {
  RouterConfig c = config();
  c.budgets = {{"acme", 5.0}};
  const RoutePolicy p(c);
  EXPECT_EQ(p.upstream_budget("acme"), 5.0);
  EXPECT_EQ(p.upstream_budget("other"), 0.0);
}

TEST(ValidateAnswer, LabelsAndJson) {
  const RouterConfig c = config();
  std::string why;
  EXPECT_TRUE(validate_answer(c.routes[0], " Spam\n", &why));
  EXPECT_TRUE(validate_answer(c.routes[0], "ham", &why));
  EXPECT_FALSE(validate_answer(c.routes[0], "spammy", &why));
  EXPECT_NE(why.find("labels"), std::string::npos);
  EXPECT_TRUE(validate_answer(c.routes[1], "anything goes", &why));
  Route j;
  j.json_answer = true;
  EXPECT_TRUE(validate_answer(j, R"( {"a": [1, 2]} )", &why));
  EXPECT_FALSE(validate_answer(j, R"({"a": )", &why));
}

TEST(FillTemplate, ReplacesEveryPlaceholder) {
  EXPECT_EQ(fill_template("Message: {text}\nLabel:", "hi"), "Message: hi\nLabel:");
  EXPECT_EQ(fill_template("{text}|{text}", "x"), "x|x");
  EXPECT_EQ(fill_template("no placeholder", "x"), "no placeholder");
  EXPECT_EQ(fill_template("{text}", "{text}"), "{text}");  // the text is not expanded again
}

TEST(CostLedger, Arithmetic) {
  // GPT-4o list prices: 1,000 prompt + 200 completion tokens = 0.0025 + 0.002 = $0.0045.
  EXPECT_DOUBLE_EQ(hosted_cost_usd({2.5, 10}, 1000, 200), 0.0045);
  // $0.36 per hour for 10 ms of compute = $0.000001.
  EXPECT_DOUBLE_EQ(local_cost_usd(0.36, 10), 1e-6);

  CostLedger l;
  LedgerEntry a;
  a.tenant = "t1";
  a.route = "faq";
  a.cost_usd = 1e-6;
  a.baseline_usd = 0.0045;
  LedgerEntry b = a;
  b.tenant = "t2";
  b.route = "llm";
  b.escalated = true;
  b.cost_usd = 0.003;
  b.baseline_usd = 0.003;
  l.record(a);
  l.record(b);
  l.record(b);
  const LedgerTotals t = l.total();
  EXPECT_EQ(t.requests, 3);
  EXPECT_EQ(t.local, 1);
  EXPECT_EQ(t.escalated, 2);
  EXPECT_DOUBLE_EQ(t.cost_usd, 1e-6 + 0.006);
  EXPECT_DOUBLE_EQ(t.savings_usd(), 0.0045 - 1e-6);
  EXPECT_EQ(l.by_route().at("llm").requests, 2);
  EXPECT_DOUBLE_EQ(l.upstream_spend("t2"), 0.006);
  EXPECT_DOUBLE_EQ(l.upstream_spend("t1"), 0);  // local answers do not spend the budget
}

TEST(DecisionLog, RowsSurviveReopenAndAreConcurrentSafe) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("rs_decisions_{}.db", ::getpid());
  std::filesystem::remove(path);
  {
    DecisionLog log(path.string());
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&log, w] {
        for (int i = 0; i < 50; ++i) {
          LedgerEntry e;
          e.tenant = fmt::format("t{}", w);
          e.route = "faq";
          e.reason = "intent";
          e.cost_usd = 0.5;
          log.append(e);
        }
      });
    for (auto& t : writers) t.join();
    log.flush();
    EXPECT_EQ(log.written(), 200u);
    EXPECT_EQ(log.failed(), 0u);
  }
  DecisionLog again(path.string());  // reopening keeps the rows and appends
  LedgerEntry e;
  e.tenant = "late";
  again.append(e);
  again.flush();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT count(*), sum(cost_usd), count(DISTINCT tenant) FROM "
                               "decisions",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 201);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(st, 1), 100.0);
  EXPECT_EQ(sqlite3_column_int(st, 2), 5);
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::filesystem::remove(path);
  for (const char* ext : {"-wal", "-shm"})
    std::filesystem::remove(fmt::format("{}{}", path.string(), ext));
}

TEST(DecisionLog, NotADatabaseIsAClearError) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("rs_not_db_{}.db", ::getpid());
  {
    std::FILE* f = std::fopen(path.string().c_str(), "wb");
    std::fputs("this is not an SQLite file, it is long enough to have a header.....", f);
    std::fclose(f);
  }
  EXPECT_THROW(DecisionLog{path.string()}, Error);
  EXPECT_THROW(DecisionLog{"/nonexistent-dir/x.db"}, Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace rs::router
