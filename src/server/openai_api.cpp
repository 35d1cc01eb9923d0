#include "server/openai_api.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::server {
namespace {

[[noreturn]] void bad(std::string param, std::string message, std::string code = "") {
  throw ApiError{400, std::move(message), "invalid_request_error", std::move(param),
                 std::move(code)};
}

json parse_object(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    bad("", std::string("the request body is not valid JSON: ") + e.what(), "invalid_json");
  }
  if (!j.is_object()) bad("", "the request body must be a JSON object", "invalid_json");
  return j;
}

void reject_unknown(const json& j, const std::set<std::string>& known) {
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key))
      bad(key,
          "Unrecognized request argument supplied: " + key + " (rightsize does not support it)",
          "unknown_parameter");
  }
}

std::string text_field(const json& v, const std::string& param) {
  if (!v.is_string()) bad(param, param + " must be a string");
  std::string s = v.get<std::string>();
  if (!utf8::is_valid(s)) bad(param, param + " is not valid UTF-8");
  return s;
}

double number_in(const json& j, const char* key, double lo, double hi, double def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) bad(key, std::string(key) + " must be a number");
  const double v = j[key].get<double>();
  if (!(v >= lo && v <= hi))
    bad(key, fmt::format("{} must be between {} and {}, got {}", key, lo, hi, v));
  return v;
}

int64_t int_in(const json& j, const char* key, int64_t lo, int64_t hi, int64_t def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number_integer()) bad(key, std::string(key) + " must be an integer");
  const auto v = j[key].get<int64_t>();
  if (v < lo || v > hi)
    bad(key, fmt::format("{} must be between {} and {}, got {}", key, lo, hi, v));
  return v;
}

bool bool_field(const json& j, const char* key, bool def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) bad(key, std::string(key) + " must be true or false");
  return j[key].get<bool>();
}

// Message content: a string, or an array of {"type":"text","text":...} parts (joined).
std::string message_content(const json& c, const std::string& param) {
  if (c.is_string()) return text_field(c, param);
  if (c.is_null()) return "";
  if (!c.is_array()) bad(param, param + " must be a string or an array of text parts");
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const json& part = c[i];
    const std::string p = fmt::format("{}[{}]", param, i);
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text"))
      bad(p, p + ": only {\"type\": \"text\", \"text\": ...} parts are supported");
    out += text_field(part["text"], p + ".text");
  }
  return out;
}

std::vector<int32_t> token_array(const json& a, const std::string& param) {
  std::vector<int32_t> ids;
  for (const auto& v : a) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      bad(param, param + " must be a string or an array of token ids");
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  if (ids.empty()) bad(param, param + " is empty");
  return ids;
}

}  // namespace

GenerationRequest parse_generation_request(const std::string& body, Endpoint endpoint) {
  const json j = parse_object(body);
  const bool chat = endpoint == Endpoint::Chat;
  std::set<std::string> known = {"model",
                                 "max_tokens",
                                 "temperature",
                                 "top_p",
                                 "seed",
                                 "stop",
                                 "n",
                                 "stream",
                                 "stream_options",
                                 "logprobs",
                                 "presence_penalty",
                                 "frequency_penalty",
                                 "logit_bias",
                                 "user",
                                 "top_k",
                                 "min_p",
                                 "repeat_penalty",
                                 "ignore_eos"};
  if (chat)
    known.insert({"messages", "top_logprobs", "max_completion_tokens"});
  else
    known.insert({"prompt", "echo", "best_of"});
  reject_unknown(j, known);

  GenerationRequest r;
  r.endpoint = endpoint;
  if (j.contains("model")) r.model = text_field(j["model"], "model");
  if (chat) {
    if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
      bad("messages", "messages must be a non-empty array of {role, content} objects");
    for (size_t i = 0; i < j["messages"].size(); ++i) {
      const json& m = j["messages"][i];
      const std::string p = fmt::format("messages[{}]", i);
      if (!m.is_object() || !m.contains("role"))
        bad(p, p + " must be an object with a role and content");
      const std::string role = text_field(m["role"], p + ".role");
      static const std::set<std::string> roles = {"system", "developer", "user", "assistant"};
      if (!roles.count(role))
        bad(p + ".role",
            fmt::format("{}.role '{}' is not supported (system, user, assistant)", p, role));
      for (const auto& [key, value] : m.items())
        if (key != "role" && key != "content" && key != "name")
          bad(p + "." + key,
              fmt::format("{}.{} is not supported (tools and function calls are not)", p, key));
      r.messages.push_back(
          {role == "developer" ? "system" : role,
           message_content(m.contains("content") ? m["content"] : json(), p + ".content")});
    }
  } else {
    if (!j.contains("prompt")) bad("prompt", "prompt is required");
    const json& p = j["prompt"];
    if (p.is_string())
      r.prompt = text_field(p, "prompt");
    else if (p.is_array() && p.size() == 1 && p[0].is_string())
      r.prompt = text_field(p[0], "prompt");
    else if (p.is_array() && !p.empty() && p[0].is_number_integer())
      r.prompt_ids = token_array(p, "prompt");
    else
      bad("prompt",
          "prompt must be a string, an array of one string, or an array of token ids (n = 1)");
    if (bool_field(j, "echo", false)) bad("echo", "echo is not supported");
    if (int_in(j, "best_of", 1, 1, 1) != 1) bad("best_of", "best_of must be 1");
  }

  if (int_in(j, "n", 1, 1, 1) != 1) bad("n", "only n = 1 is supported");
  r.max_tokens = int_in(j, "max_tokens", 1, INT32_MAX, -1);
  if (chat) r.max_tokens = int_in(j, "max_completion_tokens", 1, INT32_MAX, r.max_tokens);
  // OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p, no repetition penalty.
  SamplingParams& s = r.sampling;
  s.temperature = static_cast<float>(number_in(j, "temperature", 0, 2, 1));
  s.top_p = static_cast<float>(number_in(j, "top_p", 0, 1, 1));
  if (j.contains("top_p") && s.top_p <= 0) bad("top_p", "top_p must be greater than 0");
  s.top_k = static_cast<int>(int_in(j, "top_k", 0, INT32_MAX, 0));
  s.min_p = static_cast<float>(number_in(j, "min_p", 0, 1, 0));
  s.repeat_penalty = static_cast<float>(number_in(j, "repeat_penalty", 0.01, 10, 1));
  s.presence_penalty = static_cast<float>(number_in(j, "presence_penalty", -2, 2, 0));
  s.frequency_penalty = static_cast<float>(number_in(j, "frequency_penalty", -2, 2, 0));
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) bad("seed", "seed must be an integer");
    s.seed = static_cast<uint64_t>(j["seed"].get<int64_t>());
  }
  if (j.contains("logit_bias") && !j["logit_bias"].is_null()) {
    if (!j["logit_bias"].is_object()) bad("logit_bias", "logit_bias must map token ids to numbers");
    for (const auto& [key, value] : j["logit_bias"].items()) {
      char* end = nullptr;
      const long id = std::strtol(key.c_str(), &end, 10);
      if (key.empty() || *end || id < 0 || !value.is_number())
        bad("logit_bias", "logit_bias keys must be token ids and values numbers in [-100, 100]");
      const double b = value.get<double>();
      if (b < -100 || b > 100) bad("logit_bias", "logit_bias values must be in [-100, 100]");
      s.logit_bias[static_cast<int32_t>(id)] = b <= -100 ? -INFINITY : static_cast<float>(b);
    }
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json& st = j["stop"];
    if (st.is_string())
      r.stop.push_back(text_field(st, "stop"));
    else if (st.is_array() && st.size() <= 4) {
      for (const auto& v : st) r.stop.push_back(text_field(v, "stop"));
    } else {
      bad("stop", "stop must be a string or an array of at most 4 strings");
    }
  }
  r.stream = bool_field(j, "stream", false);
  r.ignore_eos = bool_field(j, "ignore_eos", false);
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    if (!r.stream) bad("stream_options", "stream_options is only allowed with stream: true");
    const json& so = j["stream_options"];
    if (!so.is_object()) bad("stream_options", "stream_options must be an object");
    reject_unknown(so, {"include_usage"});
    r.include_usage = bool_field(so, "include_usage", false);
  }
  if (chat) {
    r.logprobs = bool_field(j, "logprobs", false);
    r.top_logprobs = static_cast<int>(int_in(j, "top_logprobs", 0, 20, 0));
    if (r.top_logprobs > 0 && !r.logprobs) bad("top_logprobs", "top_logprobs needs logprobs: true");
  } else if (j.contains("logprobs") && !j["logprobs"].is_null()) {
    r.top_logprobs = static_cast<int>(int_in(j, "logprobs", 0, 5, 0));
    r.logprobs = true;
  }
  s.logprobs = r.logprobs;
  s.top_logprobs = r.top_logprobs;
  return r;
}

EmbeddingRequest parse_embedding_request(const std::string& body) {
  const json j = parse_object(body);
  reject_unknown(j, {"model", "input", "encoding_format", "user", "dimensions"});
  EmbeddingRequest r;
  if (j.contains("model")) r.model = text_field(j["model"], "model");
  if (!j.contains("input")) bad("input", "input is required");
  const json& in = j["input"];
  if (in.is_string()) {
    r.texts.push_back(text_field(in, "input"));
  } else if (in.is_array() && !in.empty()) {
    if (in.size() > 2048) bad("input", "input has more than 2048 entries");
    if (in[0].is_number_integer())
      r.token_inputs.push_back(token_array(in, "input"));
    else
      for (size_t i = 0; i < in.size(); ++i) {
        if (in[i].is_array())
          r.token_inputs.push_back(token_array(in[i], fmt::format("input[{}]", i)));
        else
          r.texts.push_back(text_field(in[i], fmt::format("input[{}]", i)));
      }
    if (!r.texts.empty() && !r.token_inputs.empty())
      bad("input", "input mixes strings and token arrays");
  } else {
    bad("input", "input must be a string, an array of strings, or token ids");
  }
  for (const auto& t : r.texts)
    if (t.empty()) bad("input", "input contains an empty string");
  const std::string fmt_ =
      j.contains("encoding_format") ? text_field(j["encoding_format"], "encoding_format") : "float";
  if (fmt_ != "float" && fmt_ != "base64")
    bad("encoding_format", "encoding_format must be float or base64");
  r.base64 = fmt_ == "base64";
  if (j.contains("dimensions") && !j["dimensions"].is_null())
    bad("dimensions", "dimensions is not supported");
  return r;
}

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
}

json completion_body(Endpoint endpoint, const Completion& c) {
  json choice = {{"index", 0}, {"finish_reason", c.finish_reason}, {"logprobs", c.logprobs}};
  if (endpoint == Endpoint::Chat)
    choice["message"] = {{"role", "assistant"}, {"content", c.text}};
  else
    choice["text"] = c.text;
  return {{"id", c.id},
          {"object", endpoint == Endpoint::Chat ? "chat.completion" : "text_completion"},
          {"created", c.created},
          {"model", c.model},
          {"choices", json::array({choice})},
          {"usage", usage_json(c.prompt_tokens, c.completion_tokens, c.cached_tokens)}};
}

json stream_chunk(Endpoint endpoint, const std::string& id, const std::string& model,
                  int64_t created, const std::string* role, const std::string& delta_text,
                  const std::string* finish_reason, const json& logprobs) {
  json choice = {{"index", 0},
                 {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)},
                 {"logprobs", logprobs}};
  if (endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (role) delta["role"] = *role;
    if (!delta_text.empty() || (!role && !finish_reason)) delta["content"] = delta_text;
    choice["delta"] = delta;
  } else {
    choice["text"] = delta_text;
  }
  return {{"id", id},
          {"object", endpoint == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({choice})}};
}

// Server-sent events for a finished answer (routed answers are complete before they are sent,
// since the router may still have to escalate): role, content, finish reason, usage, [DONE].
std::string sse_of_body(Endpoint ep, const json& body, bool include_usage) {
  const std::string id = body.value("id", new_id("chatcmpl-"));
  const std::string model = body.value("model", "");
  const int64_t created = body.value("created", int64_t{0});
  const json& choice = body["choices"][0];
  const std::string text =
      ep == Endpoint::Chat ? choice["message"].value("content", "") : choice.value("text", "");
  const std::string finish = choice.value("finish_reason", "stop");
  static const std::string role = "assistant";
  std::string out;
  auto add = [&](const json& j) { out += "data: " + j.dump() + "\n\n"; };
  if (ep == Endpoint::Chat) add(stream_chunk(ep, id, model, created, &role, "", nullptr));
  add(stream_chunk(ep, id, model, created, nullptr, text, nullptr));
  add(stream_chunk(ep, id, model, created, nullptr, "", &finish));
  if (include_usage && body.contains("usage")) {
    json u = stream_chunk(ep, id, model, created, nullptr, "", nullptr);
    u["choices"] = json::array();
    u["usage"] = body["usage"];
    add(u);
  }
  return out + "data: [DONE]\n\n";
}

json chat_logprob_entry(const std::string& token_text, float logprob,
                        const std::vector<std::pair<std::string, float>>& top) {
  auto bytes = [](const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(static_cast<int>(c));
    return b;
  };
  // A token may be part of a UTF-8 character: the text is then only valid joined with its
  // neighbours, so it is replaced for JSON while `bytes` keeps the exact value.
  auto safe = [](const std::string& s) {
    return utf8::is_valid(s) ? s : std::string("\xEF\xBF\xBD");
  };
  json tops = json::array();
  for (const auto& [t, lp] : top)
    tops.push_back({{"token", safe(t)}, {"logprob", lp}, {"bytes", bytes(t)}});
  return {{"token", safe(token_text)},
          {"logprob", logprob},
          {"bytes", bytes(token_text)},
          {"top_logprobs", tops}};
}

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}() ^ (counter.fetch_add(1) << 32));
  static const char* digits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += digits[rng() % 62];
  return id;
}

std::string base64_encode(const void* data, size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) |
                       (i + 2 < n ? p[i + 2] : 0);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    out += i + 2 < n ? tbl[v & 63] : '=';
  }
  return out;
}

}  // namespace rs::server
