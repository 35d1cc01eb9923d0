#include "train/label_scoring.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/data.h"

namespace rs::train {

double token_log_prob(const float* row, int64_t n_vocab, int32_t token) {
  double mx = -INFINITY, sum = 0;
  for (int64_t v = 0; v < n_vocab; ++v) mx = std::max(mx, static_cast<double>(row[v]));
  for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(row[v] - mx);
  return row[token] - mx - std::log(sum);
}

namespace {

// Makes `c` a cache of at least n positions (kept when big enough: the memory is only reserved).
KVCache& ensure(std::unique_ptr<KVCache>& c, const HParams& hp, int64_t n) {
  if (!c || c->n_ctx() < n) c = std::make_unique<KVCache>(hp, std::max<int64_t>(n, 64));
  return *c;
}

}  // namespace

void score_labels(const Model& model, const Tokenizer& tok, const LoraAdapter* lora,
                  const std::string& prompt, std::span<const std::string> labels, ThreadPool* pool,
                  LabelScoreScratch& s, LabelScores& out) {
  const HParams& hp = model.hparams();
  const size_t k = labels.size();
  s.prompt_tokens = tok.encode(prompt, true, false);
  const auto& p = s.prompt_tokens;
  const auto n_prompt = static_cast<int64_t>(p.size());
  RS_CHECK(n_prompt > 0, "the prompt gives no tokens");
  s.seqs.resize(k);
  for (size_t i = 0; i < k; ++i) {
    try {
      s.seqs[i] = tokenize_example(tok, prompt, " " + labels[i], false, false, 1 << 30);
    } catch (const Error& e) {
      fail("label '{}': {}", labels[i], e.what());
    }
    const auto n = static_cast<int64_t>(s.seqs[i].tokens.size());
    RS_CHECK(n <= hp.n_ctx_train,
             "the prompt and label '{}' need {} tokens, more than the model's context of {}",
             labels[i], n, hp.n_ctx_train);
  }
  ensure(s.prompt_cache, hp, n_prompt).clear();
  model.forward(p, *s.prompt_cache, pool, s.prompt_logits, false, lora);

  // Per label: the positions it shares with the prompt's cache (`from`), and whether its first
  // completion token is predicted by the prompt's last logits.
  s.caches.resize(k);
  std::vector<SeqBatch> batch;
  std::vector<int64_t> from(k), first(k);
  std::vector<int8_t> uses_prompt_logits(k);
  for (size_t i = 0; i < k; ++i) {
    const Sequence& q = s.seqs[i];
    const auto n = static_cast<int64_t>(q.tokens.size());
    int64_t f = 1;  // the first scored token (tokenize_example never scores position 0)
    while (f < n && !q.target[static_cast<size_t>(f)]) ++f;
    RS_CHECK(f < n, "label '{}' adds no tokens", labels[i]);
    int64_t common = 0;
    while (common < std::min(n, n_prompt) &&
           q.tokens[static_cast<size_t>(common)] == p[static_cast<size_t>(common)])
      ++common;
    first[i] = f;
    uses_prompt_logits[i] = f == n_prompt && common == n_prompt;
    // Rows wanted: positions [f - 1, n - 1) predict tokens [f, n).
    from[i] = uses_prompt_logits[i] ? n_prompt : std::min(common, f - 1);
    if (from[i] >= n - 1) continue;  // a one-token label scored from the prompt's logits
    KVCache& c = ensure(s.caches[i], hp, n);
    c.copy_prefix_from(*s.prompt_cache, from[i]);
    batch.push_back({std::span<const int32_t>(q.tokens).subspan(
                         static_cast<size_t>(from[i]), static_cast<size_t>(n - 1 - from[i])),
                     &c, SeqBatch::Logits::All, lora});
  }
  if (!batch.empty()) model.forward_batch(batch, pool, s.logits);

  out.log_prob.assign(k, 0.0);
  out.n_tokens.assign(k, 0);
  const float* rows = s.logits.data();  // the batch's rows, label by label
  for (size_t i = 0; i < k; ++i) {
    const Sequence& q = s.seqs[i];
    const auto n = static_cast<int64_t>(q.tokens.size());
    double lp = 0;
    for (int64_t t = first[i]; t < n; ++t) {
      if (!q.target[static_cast<size_t>(t)]) continue;
      const float* row = t - 1 < from[i] ? s.prompt_logits.data()  // t == n_prompt here
                                         : rows + (t - 1 - from[i]) * hp.n_vocab;
      lp += token_log_prob(row, hp.n_vocab, q.tokens[static_cast<size_t>(t)]);
      ++out.n_tokens[i];
    }
    if (from[i] < n - 1) rows += (n - 1 - from[i]) * hp.n_vocab;
    out.log_prob[i] = lp;
  }
}

}  // namespace rs::train
