// `rightsize bench --server URL`: load on a running OpenAI-compatible server at several levels of
// concurrency; aggregate generated tokens/s, request latency and time to first token.
#pragma once

#include <string>
#include <vector>

namespace rs::cli {

struct ServerBenchOptions {
  std::string url, model, api_key;
  std::vector<int> concurrency = {1, 4, 16};
  int requests_per_stream = 4;  // requests each stream sends, one after another
  int prompt_tokens = 32;       // random token ids per prompt (different for every request)
  int max_tokens = 128;
  int rounds = 1;  // the levels run this many times in turn; tokens/s is the median per level
  bool json = false;
};

void run_server_bench(const ServerBenchOptions& o);

}  // namespace rs::cli
