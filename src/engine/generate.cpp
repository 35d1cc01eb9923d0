#include "engine/generate.h"

#include <chrono>

#include "core/error.h"
#include "engine/text_stream.h"

namespace rs {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

GenerateResult generate(const LoadedModel& lm, std::span<const int32_t> prompt,
                        const GenerateOptions& opts, ThreadPool* pool,
                        const TokenCallback& on_token) {
  const Model& model = *lm.model;
  const HParams& hp = model.hparams();
  RS_CHECK(!prompt.empty(), "the prompt is empty (no tokens); give some text or --ids");
  // Default context: the model's, capped at 4096 like llama.cpp so a 128k-context model does not
  // allocate a huge KV cache for a short prompt.
  const int64_t n_ctx = opts.n_ctx > 0 ? opts.n_ctx : std::min<int64_t>(hp.n_ctx_train, 4096);
  RS_CHECK(static_cast<int64_t>(prompt.size()) < n_ctx,
           "the prompt has {} tokens but the context holds {}; shorten it or raise --ctx-size",
           prompt.size(), n_ctx);

  GenerateResult res;
  res.prompt_ids.assign(prompt.begin(), prompt.end());
  KVCache cache(hp, n_ctx, opts.kv_type);
  Sampler sampler(opts.sampling, static_cast<int>(hp.n_vocab));
  for (int32_t id : prompt) sampler.accept(id);

  Vec logits;
  auto t0 = Clock::now();
  model.forward(prompt, cache, pool, logits, false, lm.lora.get());
  res.prompt_ms = ms_since(t0);

  TextStream stream(lm.tokenizer.get(), opts.stop, opts.stop_at_eog);
  res.finish_reason = "length";
  auto t1 = Clock::now();
  const int64_t limit =
      opts.n_predict < 0 ? n_ctx - static_cast<int64_t>(prompt.size()) : opts.n_predict;
  for (int64_t step = 0; step < limit; ++step) {
    const int32_t id = sampler.sample(logits);
    sampler.accept(id);
    res.ids.push_back(id);
    TextStream::Step out = stream.push(id);
    if (!out.text.empty()) {
      res.text += out.text;
      if (on_token && !on_token(id, out.text)) {
        res.finish_reason = "cancelled";
        break;
      }
    }
    if (out.finished) {
      res.finish_reason = "stop";
      break;
    }
    if (step + 1 >= limit) break;
    if (cache.n_past() >= n_ctx) break;  // context full
    model.forward({&id, 1}, cache, pool, logits, false, lm.lora.get());
  }
  res.gen_ms = ms_since(t1);
  if (res.finish_reason != "cancelled") {
    const std::string rest = stream.flush();
    res.text += rest;
    if (on_token && !rest.empty()) on_token(-1, rest);
  }
  return res;
}

}  // namespace rs
