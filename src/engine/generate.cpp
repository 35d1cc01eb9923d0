#include "engine/generate.h"

#include <chrono>

#include "core/error.h"
#include "core/utf8.h"

namespace rs {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence, so streamed
// text never splits a character that arrives over several byte tokens.
size_t complete_utf8_prefix(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    if (c >= 0xC0 && utf8::seq_len(c) > back) return n - back;
    break;
  }
  return n;
}

}  // namespace

GenerateResult generate(const LoadedModel& lm, std::span<const int32_t> prompt,
                        const GenerateOptions& opts, ThreadPool* pool, const TokenCallback& on_token) {
  const Model& model = *lm.model;
  const HParams& hp = model.hparams();
  RS_CHECK(!prompt.empty(), "the prompt is empty (no tokens); give some text or --ids");
  // Default context: the model's, capped at 4096 like llama.cpp so a 128k-context model does not
  // allocate a huge KV cache for a short prompt.
  const int64_t n_ctx = opts.n_ctx > 0 ? opts.n_ctx : std::min<int64_t>(hp.n_ctx_train, 4096);
  RS_CHECK(static_cast<int64_t>(prompt.size()) < n_ctx,
           "the prompt has {} tokens but the context holds {}; shorten it or raise --ctx-size", prompt.size(), n_ctx);

  GenerateResult res;
  res.prompt_ids.assign(prompt.begin(), prompt.end());
  KVCache cache(hp, n_ctx);
  Sampler sampler(opts.sampling, static_cast<int>(hp.n_vocab));
  for (int32_t id : prompt) sampler.accept(id);

  Vec logits;
  auto t0 = Clock::now();
  model.forward(prompt, cache, pool, logits, false);
  res.prompt_ms = ms_since(t0);

  const Tokenizer* tok = lm.tokenizer.get();
  std::string pending;  // text not yet handed out (incomplete UTF-8, or a possible stop prefix)
  size_t max_stop = 0;
  for (const auto& s : opts.stop) max_stop = std::max(max_stop, s.size());
  res.finish_reason = "length";
  auto t1 = Clock::now();
  const int64_t limit = opts.n_predict < 0 ? n_ctx - static_cast<int64_t>(prompt.size()) : opts.n_predict;
  for (int64_t step = 0; step < limit; ++step) {
    const int32_t id = sampler.sample(logits);
    sampler.accept(id);
    res.ids.push_back(id);
    if (opts.stop_at_eog && tok && tok->is_eog(id)) {
      res.finish_reason = "stop";
      break;
    }
    pending += tok ? tok->token_to_piece(id, /*special=*/false) : std::string();
    // Stop strings: cut at the first match; hold back a tail that could still become one.
    bool stopped = false;
    for (const auto& s : opts.stop) {
      const size_t at = pending.find(s);
      if (!s.empty() && at != std::string::npos) {
        pending.resize(at);
        stopped = true;
      }
    }
    size_t ready = complete_utf8_prefix(pending);
    if (!stopped && max_stop > 1) ready = std::min(ready, pending.size() >= max_stop - 1 ? pending.size() - (max_stop - 1) : 0);
    if (stopped) ready = pending.size();
    if (ready > 0) {
      const std::string out = pending.substr(0, ready);
      pending.erase(0, ready);
      res.text += out;
      if (on_token && !on_token(id, out)) {
        res.finish_reason = "cancelled";
        break;
      }
    }
    if (stopped) {
      res.finish_reason = "stop";
      break;
    }
    if (step + 1 >= limit) break;
    if (cache.n_past() >= n_ctx) break;  // context full
    model.forward({&id, 1}, cache, pool, logits, false);
  }
  res.gen_ms = ms_since(t1);
  if (!pending.empty() && res.finish_reason != "cancelled") {
    res.text += pending;
    if (on_token) on_token(-1, pending);
  }
  return res;
}

}  // namespace rs
