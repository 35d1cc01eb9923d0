// Single-sequence generation: prompt processing in one batch, then one token at a time through
// the KV cache, sampling each, streaming the text as it becomes valid UTF-8.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/loader.h"
#include "engine/sampler.h"

namespace rs {

class ThreadPool;

struct GenerateOptions {
  int n_predict = 128;  // tokens to generate at most; < 0: until EOG or the context is full
  int64_t n_ctx = 0;    // context size; 0: the model's training context, at most 4096
  KvType kv_type = KvType::F16;   // as llama.cpp's default cache; F32 is exact
  bool stop_at_eog = true;        // stop at end-of-generation tokens (EOS, <|eot_id|>, ...)
  std::vector<std::string> stop;  // stop strings (not included in the text)
  SamplingParams sampling;
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> ids;   // generated ids (an EOG id that ended generation is included)
  std::string text;           // generated text (EOG and stop strings excluded)
  std::string finish_reason;  // "length", "stop" (EOG or stop string), "cancelled"
  double prompt_ms = 0, gen_ms = 0;
  double prompt_tokens_per_s() const {
    return prompt_ms > 0 ? prompt_ids.size() * 1000.0 / prompt_ms : 0;
  }
  // Generation speed over the decode steps (the first token comes from the prompt pass).
  double gen_tokens_per_s() const {
    return gen_ms > 0 && ids.size() > 1 ? (ids.size() - 1) * 1000.0 / gen_ms : 0;
  }
};

// Called with each newly complete piece of text; return false to stop generating.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

GenerateResult generate(const LoadedModel& lm, std::span<const int32_t> prompt,
                        const GenerateOptions& opts, ThreadPool* pool,
                        const TokenCallback& on_token = {});

}  // namespace rs
