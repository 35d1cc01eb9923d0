#include "eval/dataset.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::eval {

namespace {

using json = nlohmann::json;

// A string field, or nullptr when absent; rs::Error when present with another type.
const std::string* string_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  RS_CHECK(it->is_string(), "{}: \"{}\" must be a string, got {}", where, key, it->type_name());
  return it->get_ptr<const std::string*>();
}

std::vector<std::string> references(const json& j, const std::string& where) {
  std::vector<std::string> refs;
  if (auto it = j.find("references"); it != j.end() && !it->is_null()) {
    RS_CHECK(it->is_array(), "{}: \"references\" must be an array of strings", where);
    for (const auto& r : *it) {
      RS_CHECK(r.is_string(), "{}: \"references\" must be an array of strings", where);
      refs.push_back(r.get<std::string>());
    }
    return refs;
  }
  for (const char* key : {"summary", "reference", "completion"})
    if (const std::string* s = string_field(j, key, where)) return {*s};
  return refs;
}

}  // namespace

EvalTask parse_eval_task(const std::string& name) {
  if (name == "classify") return EvalTask::kClassify;
  if (name == "generate") return EvalTask::kGenerate;
  if (name == "summarize") return EvalTask::kSummarize;
  fail("unknown --task '{}': choose classify, generate or summarize", name);
}

const char* to_string(EvalTask t) {
  switch (t) {
    case EvalTask::kClassify:
      return "classify";
    case EvalTask::kGenerate:
      return "generate";
    case EvalTask::kSummarize:
      return "summarize";
  }
  return "?";
}

std::vector<EvalExample> load_eval_data(const std::string& path, EvalTask task) {
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open data file '{}'", path);
  std::vector<EvalExample> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = fmt::format("'{}' line {}", path, n);
    if (auto bad = utf8::find_invalid(line))
      fail("{}: not valid UTF-8 (byte offset {})", where, *bad);
    json j = json::parse(line, nullptr, false);
    RS_CHECK(!j.is_discarded(), "{}: not valid JSON: {}", where, line.substr(0, 80));
    RS_CHECK(j.is_object(), "{}: expected a JSON object per line, got {}", where, j.type_name());
    EvalExample ex;
    ex.line = n;
    const std::string* text = string_field(j, "text", where);
    if (task == EvalTask::kGenerate && !text) text = string_field(j, "prompt", where);
    if (task == EvalTask::kSummarize && !text) text = string_field(j, "dialogue", where);
    RS_CHECK(text, "{}: missing \"text\" ({} rows need {})", where, to_string(task),
             task == EvalTask::kClassify    ? "{\"text\", \"label\"}"
             : task == EvalTask::kSummarize ? "{\"text\", \"references\": [...]}"
                                            : "{\"prompt\" or \"text\"}");
    ex.text = *text;
    if (task == EvalTask::kClassify) {
      auto it = j.find("label");
      RS_CHECK(it != j.end() && !it->is_null(),
               "{}: missing \"label\" (classify rows need {{\"text\", \"label\"}})", where);
      RS_CHECK(it->is_string() || it->is_number_integer() || it->is_boolean(),
               "{}: \"label\" must be a string, got {}", where, it->type_name());
      ex.label = it->is_string() ? it->get<std::string>() : it->dump();
      RS_CHECK(!ex.label.empty(), "{}: empty \"label\"", where);
    } else {
      ex.references = references(j, where);
      RS_CHECK(task != EvalTask::kSummarize || !ex.references.empty(),
               "{}: missing \"references\" (summarize rows need {{\"text\", \"references\": "
               "[...]}} or a \"summary\" string)",
               where);
    }
    out.push_back(std::move(ex));
  }
  RS_CHECK(in.eof(), "error reading '{}'", path);
  RS_CHECK(!out.empty(), "'{}' has no examples (one JSON object per line expected)", path);
  return out;
}

std::string fill_prompt(const std::string& tmpl, const std::string& text,
                        const std::vector<std::string>& labels) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = tmpl.find('}', i);
    RS_CHECK(close != std::string::npos, "prompt template: '{{' at offset {} is never closed", i);
    const std::string name = tmpl.substr(i + 1, close - i - 1);
    if (name == "text") {
      out += text;
    } else if (name == "labels") {
      for (size_t k = 0; k < labels.size(); ++k) out += (k ? ", " : "") + labels[k];
    } else {
      fail("prompt template: unknown placeholder '{{{}}}' (use {{text}} and {{labels}})", name);
    }
    i = close;
  }
  return out;
}

std::string default_prompt_template(EvalTask t) {
  switch (t) {
    case EvalTask::kClassify:
      return "Classify the text into exactly one of these labels: {labels}\n\nText: {text}\nLabel:";
    case EvalTask::kSummarize:
      return "Summarize the following dialogue in one or two sentences.\n\n{text}\n\nSummary:";
    case EvalTask::kGenerate:
      return "{text}";
  }
  return "{text}";
}

}  // namespace rs::eval
