// Scoring a fixed label set as completions of a prompt with a generative model: what
// `rightsize lora eval` and the router's language-model back end (router/intent_classifier.h)
// run.
//
// A label's score is the sum of log p(token | everything before it) over the completion tokens
// of prompt + " " + label, as tokenize_example (train/data.h) marks them (no EOS), under the
// inference forward pass (Model::forward; with a bound LoRA adapter or none). The prompt runs
// once; every label's remaining tokens then run in one batch (Model::forward_batch), each from
// its own copy of the prompt's KV cache (KVCache::copy_prefix_from), so scoring costs one prompt
// pass plus the label tokens (the last token of each label needs no pass). A label whose tokens
// merge with the end of the prompt (where the two encodings part before the prompt's end)
// restarts from the last shared position.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/lora.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/graph.h"

namespace rs {
class ThreadPool;
}

namespace rs::train {

// Buffers reused from call to call (one per thread).
struct LabelScoreScratch {
  std::vector<int32_t> prompt_tokens;
  std::vector<Sequence> seqs;  // per label: prompt + label tokens and the completion mask
  std::unique_ptr<KVCache> prompt_cache;
  std::vector<std::unique_ptr<KVCache>> caches;  // per label
  Vec prompt_logits, logits;
};

struct LabelScores {
  std::vector<double> log_prob;   // per label: sum of its completion tokens' log-probabilities
  std::vector<int32_t> n_tokens;  // per label: how many tokens were scored (>= 1)
};

// rs::Error when the prompt gives no tokens, a label adds no tokens, or the longest sequence
// does not fit the model's context (n_ctx_train).
void score_labels(const Model& model, const Tokenizer& tok, const LoraAdapter* lora,
                  const std::string& prompt, std::span<const std::string> labels, ThreadPool* pool,
                  LabelScoreScratch& s, LabelScores& out);

// log softmax(row)[token] over n_vocab logits, in double (the scoring's per-token term).
double token_log_prob(const float* row, int64_t n_vocab, int32_t token);

}  // namespace rs::train
