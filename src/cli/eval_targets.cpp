#include "cli/eval_targets.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/generate.h"
#include "tokenizer/chat_template.h"
#include "upstream/client.h"

namespace rs::cli {
namespace {

using json = nlohmann::json;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void keep_rightsize_headers(const upstream::Response& r, TargetReply& out) {
  for (const auto& [k, v] : r.headers)
    if (k.rfind("x-rightsize-", 0) == 0) out.rightsize_headers.emplace_back(k, v);
}

class LocalTarget : public EvalTarget {
 public:
  explicit LocalTarget(const TargetOptions& o) : o_(o), lm_(load_model(o.target, o.tokenizer)) {
    lm_.require_tokenizer();
    if (o.chat) {
      format_ = detect_chat_format(lm_.chat_template);
      RS_CHECK(format_, "--chat: '{}' has {} chat template", o.target,
               lm_.chat_template.empty() ? "no" : "an unknown");
    }
    // Each worker gets its own thread pool: a pool runs one job at a time, and the forward
    // pass keeps its scratch buffers per thread, so separate pools never share state.
    const int total = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int per = std::max(1, total / std::max(1, o.workers));
    for (int w = 0; w < std::max(1, o.workers); ++w)
      pools_.push_back(std::make_unique<ThreadPool>(per));
  }

  TargetReply complete(const std::string& prompt, int max_tokens, int worker) override {
    std::string text = prompt;
    bool special = false;
    if (format_) {
      const std::vector<ChatMessage> msgs = {{"user", prompt}};
      text = apply_chat_template(*format_, msgs, /*add_generation_prompt=*/true);
      special = true;
    }
    const auto ids = lm_.tokenizer->encode(text, /*add_special=*/true, special);
    GenerateOptions g;
    g.n_predict = max_tokens;
    g.sampling.temperature = 0;  // greedy: an evaluation must be repeatable
    g.stop = o_.stop;
    TargetReply out;
    const auto t0 = std::chrono::steady_clock::now();
    const GenerateResult r = generate(lm_, ids, g, pools_.at(static_cast<size_t>(worker)).get(),
                                      [&](int32_t, std::string_view piece) {
                                        if (out.ttft_ms < 0 && !piece.empty())
                                          out.ttft_ms = ms_since(t0);
                                        return true;
                                      });
    out.text = r.text;
    out.prompt_tokens = static_cast<int64_t>(r.prompt_ids.size());
    out.completion_tokens = static_cast<int64_t>(r.ids.size());
    return out;
  }
  std::string kind() const override { return "local"; }
  std::string describe() const override {
    return std::filesystem::path(o_.target).filename().string();
  }

 private:
  TargetOptions o_;
  LoadedModel lm_;
  std::optional<ChatFormat> format_;
  std::vector<std::unique_ptr<ThreadPool>> pools_;
};

class HttpTarget : public EvalTarget {
 public:
  explicit HttpTarget(const TargetOptions& o)
      : o_(o), client_({{o.target, o.api_key, "", o.headers}}, options(o)) {
    RS_CHECK(o.api == "chat" || o.api == "completions",
             "unknown --api '{}': choose chat or completions", o.api);
  }

  TargetReply complete(const std::string& prompt, int max_tokens, int) override {
    json req = {{"max_tokens", max_tokens}, {"temperature", 0}};
    // No --model: leave the field out, which single-model servers (rightsize serve, llama.cpp's
    // server) accept; hosted APIs answer with an error that asks for it.
    if (!o_.model.empty()) req["model"] = o_.model;
    if (!o_.stop.empty()) req["stop"] = o_.stop;
    const bool chat = o_.api == "chat";
    if (chat)
      req["messages"] = json::array({{{"role", "user"}, {"content", prompt}}});
    else
      req["prompt"] = prompt;
    if (o_.stream) return complete_streamed(req, chat);
    const upstream::Response r = chat ? client_.chat_completions(req) : client_.completions(req);
    const json& j = r.json;
    const json* choice = j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()
                             ? &j["choices"][0]
                             : nullptr;
    RS_CHECK(choice, "{}: the answer has no \"choices\"", r.url);
    TargetReply out;
    const json* text =
        chat ? (choice->contains("message") ? &(*choice)["message"]["content"] : nullptr)
             : (choice->contains("text") ? &(*choice)["text"] : nullptr);
    RS_CHECK(text && (text->is_string() || text->is_null()), "{}: the answer has no {}", r.url,
             chat ? "choices[0].message.content" : "choices[0].text");
    if (text->is_string()) out.text = text->get<std::string>();
    if (j.contains("usage") && j["usage"].is_object()) {
      out.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
      out.completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
    } else {
      out.usage_reported = false;
    }
    keep_rightsize_headers(r, out);
    return out;
  }
  std::string kind() const override { return "http"; }

  // The same request as a stream: text deltas are concatenated, the first non-empty one gives
  // the time to first token, and usage comes from the final chunk (stream_options.include_usage,
  // as OpenAI sends it).
  TargetReply complete_streamed(json req, bool chat) {
    req["stream_options"] = {{"include_usage", true}};
    TargetReply out;
    out.usage_reported = false;
    const auto t0 = std::chrono::steady_clock::now();
    const upstream::ChunkHandler on_chunk = [&](const json& ch) {
      if (ch.contains("choices") && ch["choices"].is_array() && !ch["choices"].empty()) {
        const json& c = ch["choices"][0];
        const json* piece =
            chat ? (c.contains("delta") && c["delta"].is_object() && c["delta"].contains("content")
                        ? &c["delta"]["content"]
                        : nullptr)
                 : (c.contains("text") ? &c["text"] : nullptr);
        if (piece && piece->is_string() && !piece->get_ref<const std::string&>().empty()) {
          if (out.ttft_ms < 0) out.ttft_ms = ms_since(t0);
          out.text += piece->get<std::string>();
        }
      }
      if (ch.contains("usage") && ch["usage"].is_object()) {
        out.prompt_tokens = ch["usage"].value("prompt_tokens", int64_t{0});
        out.completion_tokens = ch["usage"].value("completion_tokens", int64_t{0});
        out.usage_reported = true;
      }
      return true;
    };
    const upstream::Response r = chat ? client_.chat_completions_stream(req, on_chunk)
                                      : client_.completions_stream(req, on_chunk);
    keep_rightsize_headers(r, out);
    return out;
  }
  std::string describe() const override {
    return o_.model.empty() ? o_.target : o_.target + " (" + o_.model + ")";
  }

 private:
  static upstream::ClientOptions options(const TargetOptions& o) {
    upstream::ClientOptions c;
    c.timeout_s = o.timeout_s;
    c.max_retries = o.retries;
    return c;
  }
  TargetOptions o_;
  upstream::Client client_;
};

}  // namespace

bool is_url_target(const std::string& target) {
  return target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
}

std::unique_ptr<EvalTarget> make_target(const TargetOptions& o) {
  RS_CHECK(!o.target.empty(), "--target is empty: give a model file/folder or an http(s):// URL");
  if (is_url_target(o.target)) return std::make_unique<HttpTarget>(o);
  std::error_code ec;
  RS_CHECK(std::filesystem::exists(o.target, ec),
           "--target '{}' is neither an existing model file/folder nor an http(s):// URL",
           o.target);
  return std::make_unique<LocalTarget>(o);
}

}  // namespace rs::cli
