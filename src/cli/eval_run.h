// `rightsize eval --data FILE --target TARGET --task T`: runs a data set through a target and
// measures quality, latency, throughput and cost. The result is one JSON object (the file
// `--out` writes and `eval --compare` reads); docs/eval.md describes its fields.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/eval_targets.h"

namespace rs::cli {

struct EvalRunOptions {
  std::string data, task = "classify", prompt_template, name;
  TargetOptions target;
  int concurrency = 1, warmup = 0, limit = 0, max_tokens = 0;  // max_tokens 0: per-task default
  double price_in = 0, price_out = 0, price_hour = 0;          // $ per 1M tokens; $ per hour
  bool stem = true;                                            // ROUGE with Porter stemming
  bool progress = true;
};

nlohmann::ordered_json run_eval(const EvalRunOptions& o);

// The readable summary of a result object.
void print_eval_result(const nlohmann::ordered_json& r);

}  // namespace rs::cli

namespace CLI {
class App;
}

namespace rs::cli {

// Adds the run/compare options and callback to the `eval` command (eval_main.cpp).
void register_eval_run(CLI::App& eval);

}  // namespace rs::cli
