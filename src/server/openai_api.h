// The OpenAI wire format: request bodies of /v1/chat/completions, /v1/completions and
// /v1/embeddings parsed and checked into plain structs, and the response / stream-chunk / error
// objects built from results. Field names and semantics follow the OpenAI API reference.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "tokenizer/chat_template.h"

namespace rs::server {

using json = nlohmann::json;

// A request the client got wrong: answered with `status` and an OpenAI error object.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, "" when none
  std::string code;   // machine-readable, "" when none
};

enum class Endpoint { Chat, Completion };

struct GenerationRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::string model;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions (text)
  std::vector<int32_t> prompt_ids;    // completions given as token ids
  int64_t max_tokens = -1;            // -1: until the context is full
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;     // llama.cpp extension: generate past end-of-text (benchmarks)
  bool logprobs = false;
  int top_logprobs = 0;
  SamplingParams sampling;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> token_inputs;  // when the input is token ids
  bool base64 = false;
};

// Throw ApiError on anything malformed, out of range, unknown or unsupported.
GenerationRequest parse_generation_request(const std::string& body, Endpoint endpoint);
EmbeddingRequest parse_embedding_request(const std::string& body);

json error_body(const ApiError& e);

// One choice's worth of a finished (non-streamed) generation.
struct Completion {
  std::string id, model, text, finish_reason;
  int64_t created = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  json logprobs;  // null unless requested
};
json completion_body(Endpoint endpoint, const Completion& c);

// A streamed chunk: `delta_text` (chat: delta.content; completions: text), the role on the first
// chat chunk, the finish reason on the last.
json stream_chunk(Endpoint endpoint, const std::string& id, const std::string& model,
                  int64_t created, const std::string* role, const std::string& delta_text,
                  const std::string* finish_reason, const json& logprobs = nullptr);
// Server-sent events replaying a finished response body (routed and cached answers are complete
// before they are sent): role, content, finish reason, usage when asked for, [DONE].
std::string sse_of_body(Endpoint endpoint, const json& body, bool include_usage);
json usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens);

// Chat logprobs content entry for one token ({token, logprob, bytes, top_logprobs}).
json chat_logprob_entry(const std::string& token_text, float logprob,
                        const std::vector<std::pair<std::string, float>>& top);

// A random id with the given prefix ("chatcmpl-", "cmpl-").
std::string new_id(const char* prefix);

std::string base64_encode(const void* data, size_t n);

}  // namespace rs::server
