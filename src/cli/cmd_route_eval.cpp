// rightsize route-eval --data DIR: router research on per-query correctness data (RouteLLM's
// MMLU set). Trains a text router on the train split, sweeps its threshold on the test split and
// prints the cost-quality curve with APGR and CPT(50%)/CPT(80%), next to a random router (exact
// expectation and a seeded simulation) and the oracle. Metrics: src/eval/route_eval.h.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "eval/route_eval.h"

namespace rs::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct RouteEvalOpts {
  std::string data, train, score = "gain", scores_out;
  int seeds = 200, step_pct = 5;
  uint64_t seed = 1;
  bool json = false;
};

json metrics_json(const eval::RouteMetrics& m) {
  return {{"apgr", m.apgr}, {"cpt50", m.cpt50}, {"cpt80", m.cpt80}};
}

void run_route_eval(const RouteEvalOpts& o) {
  std::string train_path = o.train, test_path = o.data;
  if (fs::is_directory(o.data)) {
    RS_CHECK(o.train.empty(), "--train goes with --data TEST.jsonl, not with a folder");
    train_path = (fs::path(o.data) / "train.jsonl").string();
    test_path = (fs::path(o.data) / "test.jsonl").string();
  }
  RS_CHECK(!train_path.empty(),
           "give --data FOLDER (with train.jsonl and test.jsonl) or --data TEST.jsonl --train "
           "TRAIN.jsonl");
  RS_CHECK(o.step_pct >= 1 && o.step_pct <= 50, "--step must be within 1 and 50 (percent)");
  eval::RouterScore kind;
  if (o.score == "gain")
    kind = eval::RouterScore::kGain;
  else if (o.score == "small-wrong")
    kind = eval::RouterScore::kSmallWrong;
  else
    fail("unknown --score '{}': choose gain or small-wrong", o.score);

  const auto train = eval::load_route_data(train_path);
  const auto test = eval::load_route_data(test_path);
  eval::TextRouter router;
  eval::RouterTraining info;
  {
    std::unique_ptr<ProgressBar> bar;  // made at the first callback, which knows the total
    info = router.fit(train, kind, o.seed, [&](int done, int total) {
      if (!bar) bar = std::make_unique<ProgressBar>("training router", total, "fits", !o.json);
      bar->update(static_cast<uint64_t>(done));
    });
    if (bar) bar->finish();
  }
  std::vector<double> scores;
  for (const auto& ex : test) scores.push_back(router.score(ex.text));
  const eval::RouteMetrics m = eval::evaluate_router(scores, test);
  // The oracle sends exactly the queries where only the large model is right.
  std::vector<double> oracle;
  for (const auto& ex : test)
    oracle.push_back(static_cast<double>(ex.large_correct) - static_cast<double>(ex.small_correct));
  const eval::RouteMetrics best = eval::evaluate_router(oracle, test);
  const eval::RandomRouterStats rnd = eval::random_router(test, o.seeds, o.seed);

  if (!o.scores_out.empty()) {
    std::ofstream out(o.scores_out);
    RS_CHECK(out.good(), "cannot write '{}'", o.scores_out);
    for (double s : scores) out << fmt::format("{:.9g}\n", s);
  }

  const double gap = m.quality_large - m.quality_small;
  std::vector<double> grid;
  for (int p = 0; p <= 100; p += o.step_pct) grid.push_back(p / 100.0);
  if (grid.back() < 1.0) grid.push_back(1.0);
  const std::string router_desc =
      fmt::format("hashed word 1-2-gram TF-IDF (2^18 buckets) + L2 logistic regression; score = {}",
                  kind == eval::RouterScore::kGain ? "P(large correct) - P(small correct)"
                                                   : "1 - P(small correct)");
  if (o.json) {
    json curve = json::array();
    for (double c : grid) {
      const double pgr = eval::pgr_at(m.curve, c);
      curve.push_back({{"call_fraction", c},
                       {"router_quality", m.quality_small + pgr * gap},
                       {"router_pgr", pgr},
                       {"random_quality", m.quality_small + c * gap},
                       {"random_pgr", c},
                       {"oracle_pgr", eval::pgr_at(best.curve, c)}});
    }
    json j = {{"train", train_path},
              {"test", test_path},
              {"n_train", train.size()},
              {"n_test", test.size()},
              {"small_accuracy", m.quality_small},
              {"large_accuracy", m.quality_large},
              {"router", router_desc},
              {"training",
               {{"validation_rows", info.n_validation},
                {"l2_small", info.l2_small},
                {"l2_large", info.l2_large},
                {"val_log_loss_small", info.val_loss_small},
                {"val_log_loss_large", info.val_loss_large}}},
              {"router_metrics", metrics_json(m)},
              {"random_expected", {{"apgr", 0.5}, {"cpt50", 0.5}, {"cpt80", 0.8}}},
              {"random_simulated",
               {{"seeds", rnd.seeds},
                {"apgr", rnd.apgr_mean},
                {"apgr_95", {rnd.apgr_lo, rnd.apgr_hi}},
                {"cpt50", rnd.cpt50_mean},
                {"cpt50_95", {rnd.cpt50_lo, rnd.cpt50_hi}},
                {"cpt80", rnd.cpt80_mean},
                {"cpt80_95", {rnd.cpt80_lo, rnd.cpt80_hi}}}},
              {"oracle", metrics_json(best)},
              {"curve", curve}};
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("train {} rows ({} held out to choose L2), test {} rows\n", train.size(),
             info.n_validation, test.size());
  fmt::print("small model accuracy {:.4f}, large {:.4f} (gap {:.4f})\n", m.quality_small,
             m.quality_large, gap);
  fmt::print("router: {}\n\n", router_desc);
  fmt::print("{:>11}  {:>10} {:>7}  {:>10} {:>7}  {:>7}\n", "large calls", "router acc", "PGR",
             "random acc", "PGR", "oracle");
  for (double c : grid) {
    const double pgr = eval::pgr_at(m.curve, c);
    fmt::print("{:>10.0f}%  {:>10.4f} {:>7.3f}  {:>10.4f} {:>7.3f}  {:>7.3f}\n", c * 100,
               m.quality_small + pgr * gap, pgr, m.quality_small + c * gap, c,
               eval::pgr_at(best.curve, c));
  }
  fmt::print("\n{:<28} {:>7} {:>10} {:>10}\n", "", "APGR", "CPT(50%)", "CPT(80%)");
  fmt::print("{:<28} {:>7.3f} {:>9.2f}% {:>9.2f}%\n", "router", m.apgr, m.cpt50 * 100,
             m.cpt80 * 100);
  fmt::print("{:<28} {:>7.3f} {:>9.2f}% {:>9.2f}%\n", "random (expected)", 0.5, 50.0, 80.0);
  fmt::print("{:<28} {:>7.3f} {:>9.2f}% {:>9.2f}%\n",
             fmt::format("random ({} seeds, mean)", rnd.seeds), rnd.apgr_mean, rnd.cpt50_mean * 100,
             rnd.cpt80_mean * 100);
  fmt::print("{:<28} {:>7} {:>10} {:>10}\n", "  95% of seeds within",
             fmt::format("{:.3f}-{:.3f}", rnd.apgr_lo, rnd.apgr_hi),
             fmt::format("{:.1f}-{:.1f}%", rnd.cpt50_lo * 100, rnd.cpt50_hi * 100),
             fmt::format("{:.1f}-{:.1f}%", rnd.cpt80_lo * 100, rnd.cpt80_hi * 100));
  fmt::print("{:<28} {:>7.3f} {:>9.2f}% {:>9.2f}%\n", "oracle (upper bound)", best.apgr,
             best.cpt50 * 100, best.cpt80 * 100);
}

}  // namespace

void register_route_eval(CLI::App& app) {
  auto o = std::make_shared<RouteEvalOpts>();
  auto* cmd = app.add_subcommand(
      "route-eval", "Train and score a small-vs-large router on per-query correctness data");
  cmd->footer(
      "Data: JSON Lines rows {\"text\", \"small_correct\", \"large_correct\"} (RouteLLM's MMLU "
      "set).\n"
      "The router (hashed TF-IDF of the question text + logistic regression) is trained on the\n"
      "train split only; L2 strength is chosen on a seeded 20% of it. On the test split its "
      "threshold\n"
      "is swept: PGR = (accuracy - small) / (large - small) against the share of large-model "
      "calls;\n"
      "APGR = area under that curve; CPT(x) = the share of large calls needed to reach PGR x.\n"
      "A random router recovers the gap in proportion to its calls: APGR 0.5, CPT(x) = x in\n"
      "expectation; the simulated line shows how far one random router strays from that.\n"
      "Examples:\n"
      "  rightsize route-eval --data ../shared/datasets/routellm_mmlu\n"
      "  rightsize route-eval --data test.jsonl --train train.jsonl --score small-wrong --json\n"
      "See docs/route-eval.md for the comparison with the RouteLLM paper.");
  cmd->add_option("--data", o->data, "Folder with train.jsonl + test.jsonl, or the test file")
      ->required();
  cmd->add_option("--train", o->train, "Training file when --data is a file");
  cmd->add_option("--score", o->score,
                  "gain: P(large right) - P(small right) (default); small-wrong: 1 - P(small "
                  "right)");
  cmd->add_option("--seeds", o->seeds, "Random-router simulations")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed for the validation split, SGD order and random router")
      ->capture_default_str();
  cmd->add_option("--step", o->step_pct, "Curve table step in percent of calls")
      ->capture_default_str();
  cmd->add_option("--scores-out", o->scores_out, "Write the router's test-set scores, one a line");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_route_eval(*o); });
}

}  // namespace rs::cli
