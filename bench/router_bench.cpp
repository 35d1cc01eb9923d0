// Micro-benchmark of the router's intent classifier (router/intent_classifier.h): one query
// classified on one thread, cycling through real queries.
//   router/classify   time per query (mean), plus p50_ns / p99_ns counters from timing each
//                     query separately
// The classifier is the file in RIGHTSIZE_ROUTER if set, else one trained here on Banking77's
// train split (RIGHTSIZE_SHARED_DIR or ../shared); the queries are Banking77's test texts
// (timing only; no accuracy is measured here).
//   rightsize_bench_router --benchmark_filter=router/classify
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "router/intent_classifier.h"
#include "router/router_training.h"
#include "train/labeled_text.h"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::unique_ptr<rs::router::IntentClassifier> clf;
  std::vector<std::string> queries;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const char* env = std::getenv("RIGHTSIZE_SHARED_DIR");
    const fs::path data = fs::path(env && *env ? env : "../shared") / "datasets/banking77";
    for (auto& r : rs::train::read_labeled_jsonl((data / "test.jsonl").string(), false))
      x.queries.push_back(std::move(r.text));
    if (const char* path = std::getenv("RIGHTSIZE_ROUTER"); path && *path) {
      x.clf =
          std::make_unique<rs::router::IntentClassifier>(rs::router::IntentClassifier::load(path));
    } else {
      const auto train = rs::train::read_labeled_jsonl((data / "train.jsonl").string(), true);
      rs::router::RouterTrainOptions o;
      o.l2_grid = {3e-6};
      x.clf =
          std::make_unique<rs::router::IntentClassifier>(rs::router::train_router(train, {}, o));
    }
    return x;
  }();
  return f;
}

void BM_Classify(benchmark::State& state) {
  const Fixture& f = fixture();
  rs::router::IntentClassifier::Scratch s;
  std::vector<double> ns;
  ns.reserve(1 << 20);
  size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = f.clf->classify(f.queries[i], s);
    benchmark::DoNotOptimize(r);
    ns.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
    i = i + 1 == f.queries.size() ? 0 : i + 1;
  }
  std::sort(ns.begin(), ns.end());
  if (!ns.empty()) {
    state.counters["p50_ns"] = ns[ns.size() / 2];
    state.counters["p99_ns"] = ns[std::min(ns.size() - 1, ns.size() * 99 / 100)];
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Classify)->Name("router/classify")->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
