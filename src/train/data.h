// Fine-tuning data: JSON Lines files turned into token sequences with a loss mask.
//
// Each line is one example, in one of three shapes:
//   {"prompt": "...", "completion": "..."}   loss on the completion tokens
//   {"messages": [{"role": "...", "content": "..."}, ...]}
//       the conversation up to the last message is rendered with the chat template (with the
//       assistant opening), the last message must be the assistant's and is the completion,
//       followed by the format's end-of-turn text
//   {"text": "...", "label": "..."}          classification rows (shared/datasets): with a
//       template such as "Message: {text}\nLabel:" they become prompt = the template with the
//       text filled in, completion = " " + label
// The completion is followed by EOS (when the vocabulary has one) so the model learns to stop.
//
// Tokenization: the prompt is encoded as at inference time (BOS + text); the completion's tokens
// are the tail of encode(prompt + completion), so they are exactly what greedy decoding after
// the prompt has to produce. Where the two encodings disagree at the seam, the loss starts at
// the first token that differs.
//
// Truncation: an example longer than max_tokens loses tokens from the start of its prompt (after
// BOS); classification rows lose the end of their text instead, so the template's "Label:" cue
// survives. The number of truncated examples is reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/graph.h"

namespace rs::train {

struct DataOptions {
  int64_t max_tokens = 256;
  std::string text_template;              // for {"text","label"} rows; must contain {text}
  std::optional<ChatFormat> chat_format;  // for {"messages"} rows
  bool add_eos = true;
};

struct Example {
  Sequence seq;
  std::string prompt, completion;  // as rendered (for messages and evaluation)
  std::string label;               // classification rows: the label
  int64_t line = 0;
};

struct Dataset {
  std::vector<Example> examples;
  int64_t n_truncated = 0;
  int64_t n_tokens = 0, n_target_tokens = 0;
  std::vector<std::string> labels;  // distinct labels of classification rows, sorted
};

// Reads and tokenizes a whole file. rs::Error naming the file and line for malformed JSON, a
// missing field, an empty completion, a template without {text}, messages that do not end with
// an assistant turn, or an example that cannot be truncated to fit.
Dataset load_jsonl(const std::string& path, const Tokenizer& tok, const DataOptions& opt);

// Tokens of prompt + completion with the mask, truncated to max_tokens (see above).
Sequence tokenize_example(const Tokenizer& tok, const std::string& prompt,
                          const std::string& completion, bool parse_special, bool add_eos,
                          int64_t max_tokens, bool* truncated = nullptr);

// The template with {text} replaced by text.
std::string fill_template(const std::string& tmpl, const std::string& text);

}  // namespace rs::train
