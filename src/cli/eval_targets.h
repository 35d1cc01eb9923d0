// What `rightsize eval` sends its prompts to: a local model (GGUF file or Hugging Face folder,
// run in-process) or any OpenAI-compatible server given by its URL (a hosted LLM, a running
// `rightsize serve`, ...). Each target turns one prompt into one answer and reports the tokens
// it used, so latency, throughput and cost are measured the same way for both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rs::cli {

struct TargetReply {
  std::string text;
  int64_t prompt_tokens = 0, completion_tokens = 0;  // 0 when a server reports no usage
  bool usage_reported = true;
  double ttft_ms =
      -1;  // time to the first piece of text; -1 when not measured (URL without --stream)
  // URL targets: the x-rightsize-* response headers (route, confidence, cache, cost) a rightsize
  // server adds, so a run through the router shows where each request went.
  std::vector<std::pair<std::string, std::string>> rightsize_headers;
};

struct TargetOptions {
  std::string target;  // model path, or http(s):// base URL
  // URL targets.
  std::string api_key, model, api = "chat";  // api: chat | completions
  std::vector<std::string> headers;          // extra request headers "Name: value"
  bool stream = false;  // stream the answer (SSE), which also measures the time to first token
  double timeout_s = 120;
  int retries = 2;
  // Local targets.
  std::string tokenizer;
  bool chat = false;  // wrap the prompt in the model's chat template
  int threads = 0;    // total threads, shared out among the workers
  int workers = 1;    // requests in flight at once
  // Both.
  std::vector<std::string> stop;
};

class EvalTarget {
 public:
  virtual ~EvalTarget() = default;
  // Greedy (temperature 0) answer of at most max_tokens tokens. `worker` in [0, workers) tells
  // which of the concurrent callers this is. rs::Error when the request fails.
  virtual TargetReply complete(const std::string& prompt, int max_tokens, int worker) = 0;
  virtual std::string kind() const = 0;  // "local" or "http"
  virtual std::string describe() const = 0;
};

bool is_url_target(const std::string& target);
std::unique_ptr<EvalTarget> make_target(const TargetOptions& o);

}  // namespace rs::cli
