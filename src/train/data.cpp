#include "train/data.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::train {

std::string fill_template(const std::string& tmpl, const std::string& text) {
  const size_t at = tmpl.find("{text}");
  RS_CHECK(at != std::string::npos, "the template '{}' has no {{text}} placeholder", tmpl);
  return tmpl.substr(0, at) + text + tmpl.substr(at + 6);
}

Sequence tokenize_example(const Tokenizer& tok, const std::string& prompt,
                          const std::string& completion, bool parse_special, bool add_eos,
                          int64_t max_tokens, bool* truncated) {
  const std::vector<int32_t> p = tok.encode(prompt, true, parse_special);
  std::vector<int32_t> full = tok.encode(prompt + completion, true, parse_special);
  size_t start = 0;  // first completion token: where the two encodings part
  while (start < p.size() && start < full.size() && p[start] == full[start]) ++start;
  RS_CHECK(start < full.size(), "the completion adds no tokens");
  if (add_eos && tok.eos() >= 0) full.push_back(tok.eos());
  Sequence s;
  s.tokens = full;
  s.target.assign(full.size(), 0);
  for (size_t i = std::max<size_t>(start, 1); i < full.size(); ++i) s.target[i] = 1;
  if (truncated) *truncated = false;
  const auto n = static_cast<int64_t>(full.size());
  if (n > max_tokens) {
    // Drop prompt tokens after BOS (keep the first token when it is BOS).
    const int64_t keep_head = (!full.empty() && full[0] == tok.bos()) ? 1 : 0;
    const int64_t drop = n - max_tokens;
    RS_CHECK(static_cast<int64_t>(start) - keep_head > drop,
             "the completion alone has {} tokens, more than --max-tokens {}",
             n - static_cast<int64_t>(start), max_tokens);
    s.tokens.erase(s.tokens.begin() + keep_head, s.tokens.begin() + keep_head + drop);
    s.target.erase(s.target.begin() + keep_head, s.target.begin() + keep_head + drop);
    if (truncated) *truncated = true;
  }
  return s;
}

namespace {

std::string get_string(const nlohmann::json& j, const char* key, const std::string& where) {
  RS_CHECK(j.contains(key) && j[key].is_string(), "{}: \"{}\" must be a string", where, key);
  return j[key].get<std::string>();
}

// A classification row: shorten the text (at a UTF-8 boundary) until the example fits.
Sequence fit_text(const Tokenizer& tok, const std::string& tmpl, std::string text,
                  const std::string& completion, bool add_eos, int64_t max_tokens, bool& truncated,
                  std::string& prompt) {
  truncated = false;
  for (;;) {
    prompt = fill_template(tmpl, text);
    Sequence s = tokenize_example(tok, prompt, completion, false, add_eos, 1 << 30);
    const auto n = static_cast<int64_t>(s.tokens.size());
    if (n <= max_tokens) return s;
    RS_CHECK(!text.empty(),
             "the template and label alone need {} tokens, more than --max-tokens {}", n,
             max_tokens);
    truncated = true;
    // Remove about as many bytes as there are excess tokens (at least one), then back up to a
    // character boundary.
    size_t cut = text.size() -
                 std::min(text.size(), static_cast<size_t>(std::max<int64_t>(1, n - max_tokens)));
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
}

}  // namespace

Dataset load_jsonl(const std::string& path, const Tokenizer& tok, const DataOptions& opt) {
  std::ifstream in(path);
  RS_CHECK(in.good(), "cannot open '{}'", path);
  Dataset ds;
  std::set<std::string> labels;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    const auto j = nlohmann::json::parse(line, nullptr, false);
    RS_CHECK(!j.is_discarded() && j.is_object(), "{}: not a JSON object", where);
    Example ex;
    ex.line = line_no;
    bool truncated = false;
    try {
      if (j.contains("messages")) {
        RS_CHECK(opt.chat_format,
                 "{}: chat rows need a chat template; the model has none that rightsize knows, "
                 "pass --chat-template NAME ({})",
                 where, chat_format_names());
        RS_CHECK(j["messages"].is_array() && !j["messages"].empty(),
                 "{}: \"messages\" must be a non-empty array", where);
        std::vector<ChatMessage> msgs;
        for (const auto& m : j["messages"]) {
          RS_CHECK(m.is_object(), "{}: each message must be an object", where);
          msgs.push_back({get_string(m, "role", where), get_string(m, "content", where)});
        }
        RS_CHECK(msgs.back().role == "assistant",
                 "{}: the last message must be the assistant's (it is what the "
                 "model learns to answer)",
                 where);
        ex.completion =
            msgs.back().content + std::string(chat_format_end_of_turn(*opt.chat_format));
        msgs.pop_back();
        ex.prompt = apply_chat_template(*opt.chat_format, msgs, /*add_generation_prompt=*/true);
        ex.seq = tokenize_example(tok, ex.prompt, ex.completion, true, opt.add_eos, opt.max_tokens,
                                  &truncated);
      } else if (j.contains("prompt") || j.contains("completion")) {
        ex.prompt = get_string(j, "prompt", where);
        ex.completion = get_string(j, "completion", where);
        RS_CHECK(!ex.completion.empty(), "{}: \"completion\" is empty", where);
        ex.seq = tokenize_example(tok, ex.prompt, ex.completion, false, opt.add_eos, opt.max_tokens,
                                  &truncated);
      } else if (j.contains("text") && j.contains("label")) {
        RS_CHECK(!opt.text_template.empty(),
                 "{}: {{\"text\",\"label\"}} rows need --template, e.g. "
                 "--template 'Message: {{text}}\\nLabel:'",
                 where);
        ex.label = get_string(j, "label", where);
        RS_CHECK(!ex.label.empty(), "{}: \"label\" is empty", where);
        ex.completion = " " + ex.label;
        ex.seq = fit_text(tok, opt.text_template, get_string(j, "text", where), ex.completion,
                          opt.add_eos, opt.max_tokens, truncated, ex.prompt);
        labels.insert(ex.label);
      } else {
        fail(
            "{}: expected {{\"prompt\",\"completion\"}}, {{\"messages\":[...]}} or "
            "{{\"text\",\"label\"}}",
            where);
      }
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (msg.rfind(where, 0) == 0) throw;
      fail("{}: {}", where, msg);
    }
    ds.n_truncated += truncated;
    ds.n_tokens += static_cast<int64_t>(ex.seq.tokens.size());
    ds.n_target_tokens += ex.seq.n_targets();
    ds.examples.push_back(std::move(ex));
  }
  RS_CHECK(!ds.examples.empty(), "'{}' has no examples", path);
  ds.labels.assign(labels.begin(), labels.end());
  return ds;
}

}  // namespace rs::train
