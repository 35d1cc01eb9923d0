// The JSON Lines data sets `rightsize eval` runs through a target, one example per line:
//   classify   {"text": ..., "label": ...}                      (banking77, clinc150, sms_spam)
//   summarize  {"text": ..., "references": [...]}               (dialogsum; or "summary" /
//              "reference": one string; "dialogue" is read when there is no "text")
//   generate   {"prompt" or "text": ..., optional "completion" / "reference" / "references"}
// Blank lines are skipped. A line that is not a JSON object, or lacks what its task needs, is an
// rs::Error naming the file, the line and the missing field.
#pragma once

#include <string>
#include <vector>

namespace rs::eval {

enum class EvalTask { kClassify, kGenerate, kSummarize };

// "classify", "generate", "summarize"; rs::Error otherwise.
EvalTask parse_eval_task(const std::string& name);
const char* to_string(EvalTask t);

struct EvalExample {
  std::string text;                     // what goes into the prompt template
  std::string label;                    // classify
  std::vector<std::string> references;  // summarize / generate (may be empty for generate)
  int line = 0;                         // 1-based line in the file
};

std::vector<EvalExample> load_eval_data(const std::string& path, EvalTask task);

// Fills a prompt template: "{text}" becomes the example text, "{labels}" the label set joined
// with ", "; "{{" and "}}" are literal braces. rs::Error on any other "{name}".
std::string fill_prompt(const std::string& tmpl, const std::string& text,
                        const std::vector<std::string>& labels);

// The template used when --prompt-template is not given.
std::string default_prompt_template(EvalTask t);

}  // namespace rs::eval
