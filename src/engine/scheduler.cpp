#include "engine/scheduler.h"

#include <algorithm>

#include "core/error.h"
#include "engine/text_stream.h"
#include "model/kv_cache.h"

namespace rs {
namespace {

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

struct Scheduler::Slot {
  Slot(const HParams& hp, int64_t n_ctx, KvType kv_type) : cache(hp, n_ctx, kv_type) {}

  KVCache cache;
  std::vector<int32_t> cached;  // the tokens whose keys/values `cache` holds, in order
  // The adapter those keys/values were computed with: a prefix is only shared between requests
  // of the same adapter (an adapter on q/k/v changes the cached values).
  std::shared_ptr<const LoraAdapter> cached_lora;
  std::shared_ptr<GenJob> job;  // null while idle
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<TextStream> stream;
  size_t prompt_done = 0;   // prompt tokens already in the cache
  int32_t next_token = -1;  // sampled but not yet run through the model
  GenOutcome out;
  uint64_t last_used = 0;  // step counter at the last admission (older idle slots go first)

  bool prefilling() const { return job && prompt_done < job->prompt.size(); }
  // Prompt tokens of `j` whose keys/values this slot already holds.
  size_t reusable_prefix(const GenJob& j) const {
    return cached_lora == j.lora ? common_prefix(cached, j.prompt) : 0;
  }
};

Scheduler::Scheduler(const LoadedModel& lm, SchedulerOptions opts, ThreadPool* pool)
    : lm_(lm), opts_(opts), pool_(pool) {
  const HParams& hp = lm.model->hparams();
  RS_CHECK(hp.generative(), "{} is an embedding model; it cannot generate text", lm.path);
  RS_CHECK(opts_.n_slots >= 1 && opts_.n_slots <= 1024,
           "parallel slots must be in [1, 1024], got {}", opts_.n_slots);
  RS_CHECK(opts_.n_ctx >= 8, "the context per slot must hold at least 8 tokens, got {}",
           opts_.n_ctx);
  RS_CHECK(opts_.max_queue >= 0, "the queue size cannot be negative");
  opts_.batch_tokens = std::max<int64_t>(opts_.batch_tokens, opts_.n_slots + 1);
  for (int i = 0; i < opts_.n_slots; ++i)
    slots_.push_back(std::make_unique<Slot>(hp, opts_.n_ctx, opts_.kv_type));
  stats_.slots = opts_.n_slots;
  stats_.kv_tokens_total = opts_.n_ctx * opts_.n_slots;
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  shutdown(std::chrono::milliseconds(0));
}

bool Scheduler::submit(std::shared_ptr<GenJob> job) {
  RS_CHECK(!job->prompt.empty(), "the prompt is empty");
  RS_CHECK(static_cast<int64_t>(job->prompt.size()) < opts_.n_ctx,
           "the prompt has {} tokens but the context holds {}", job->prompt.size(), opts_.n_ctx);
  job->submitted = SteadyClock::now();
  {
    std::lock_guard lk(mu_);
    if (!accepting_ || static_cast<int>(queue_.size()) >= opts_.max_queue) return false;
    queue_.push_back(std::move(job));
    stats_.queued = static_cast<int>(queue_.size());
  }
  cv_.notify_all();
  return true;
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
  std::unique_lock lk(mu_);
  if (stop_ && !thread_.joinable()) return;
  accepting_ = false;
  cv_.wait_for(lk, grace, [&] { return queue_.empty() && stats_.active == 0; });
  cancel_all_ = true;
  stop_ = true;
  lk.unlock();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void Scheduler::loop() {
  for (;;) {
    std::vector<std::shared_ptr<GenJob>> dropped;
    {
      std::unique_lock lk(mu_);
      auto any_active = [&] {
        return std::any_of(slots_.begin(), slots_.end(),
                           [](const auto& s) { return s->job != nullptr; });
      };
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || any_active(); });
      if (cancel_all_) {
        dropped.assign(queue_.begin(), queue_.end());
        queue_.clear();
      }
      if (!cancel_all_) admit(lk);
    }
    if (cancel_all_) {
      for (auto& job : dropped) {
        GenOutcome out;
        out.finish_reason = "shutdown";
        out.prompt_tokens = static_cast<int64_t>(job->prompt.size());
        if (job->on_done) job->on_done(out);
      }
      for (auto& s : slots_)
        if (s->job) finish(*s, "shutdown");
      std::lock_guard lk(mu_);
      stats_.queued = 0;
      stats_.active = 0;
      cv_.notify_all();
      return;
    }
    step();
    std::lock_guard lk(mu_);
    int active = 0;
    int64_t kv = 0;
    for (const auto& s : slots_) {
      active += s->job != nullptr;
      kv += static_cast<int64_t>(s->cached.size());
    }
    stats_.active = active;
    stats_.kv_tokens_used = kv;
    stats_.queued = static_cast<int>(queue_.size());
    if (active == 0 && queue_.empty()) cv_.notify_all();  // shutdown() may be waiting for this
  }
}

// Under mu_: moves queued jobs into idle slots, oldest first.
void Scheduler::admit(std::unique_lock<std::mutex>& lk) {
  while (!queue_.empty()) {
    Slot* best = nullptr;
    size_t best_lcp = 0;
    const GenJob& next = *queue_.front();
    for (auto& s : slots_) {
      if (s->job) continue;
      const size_t lcp = s->reusable_prefix(next);
      if (!best || lcp > best_lcp || (lcp == best_lcp && s->last_used < best->last_used)) {
        best = s.get();
        best_lcp = lcp;
      }
    }
    if (!best) return;
    std::shared_ptr<GenJob> job = std::move(queue_.front());
    queue_.pop_front();
    best->job = job;  // reserve before unlocking
    lk.unlock();
    start_in_slot(*best, std::move(job));
    lk.lock();
  }
}

void Scheduler::start_in_slot(Slot& slot, std::shared_ptr<GenJob> job) {
  const auto now = SteadyClock::now();
  slot.out = GenOutcome{};
  slot.out.prompt_tokens = static_cast<int64_t>(job->prompt.size());
  slot.out.queue_ms = ms_between(job->submitted, now);
  slot.last_used = ++admissions_;

  // Reuse the longest cached prefix: this slot's own, or a copy from any other slot. At least the
  // last prompt token is always run, since its logits give the first completion token.
  const size_t limit = job->prompt.size() - 1;
  size_t own = std::min(slot.reusable_prefix(*job), limit);
  Slot* src = nullptr;
  size_t src_lcp = own;
  if (opts_.reuse_prefix) {
    for (auto& s : slots_) {
      if (s.get() == &slot) continue;
      const size_t lcp = std::min(s->reusable_prefix(*job), limit);
      if (lcp > src_lcp) {
        src = s.get();
        src_lcp = lcp;
      }
    }
  } else {
    own = 0;
  }
  if (src) {
    slot.cache.copy_prefix_from(src->cache, static_cast<int64_t>(src_lcp));
    own = src_lcp;
  } else {
    slot.cache.set_n_past(static_cast<int64_t>(own));
  }
  slot.cached.assign(job->prompt.begin(), job->prompt.begin() + static_cast<long>(own));
  slot.cached_lora = job->lora;
  slot.prompt_done = own;
  slot.out.cached_tokens = static_cast<int64_t>(own);
  slot.next_token = -1;
  slot.sampler =
      std::make_unique<Sampler>(job->sampling, static_cast<int>(lm_.model->hparams().n_vocab));
  for (int32_t id : job->prompt) slot.sampler->accept(id);
  slot.stream = std::make_unique<TextStream>(lm_.tokenizer.get(), job->stop, job->stop_at_eog);
  std::lock_guard lk(mu_);
  stats_.prompt_tokens += job->prompt.size();
  stats_.cached_prompt_tokens += own;
}

void Scheduler::finish(Slot& slot, std::string reason, std::string error) {
  std::shared_ptr<GenJob> job = std::move(slot.job);
  slot.job.reset();
  slot.sampler.reset();
  slot.stream.reset();
  slot.out.finish_reason = std::move(reason);
  slot.out.error = std::move(error);
  slot.out.total_ms = ms_between(job->submitted, SteadyClock::now());
  // A prompt that was cut short leaves a cache whose tail never ran: keep what did.
  slot.cached.resize(static_cast<size_t>(slot.cache.n_past()));
  if (job->on_done) job->on_done(slot.out);
}

void Scheduler::step() {
  const auto now = SteadyClock::now();
  for (auto& s : slots_) {
    if (!s->job) continue;
    if (s->job->cancel.load(std::memory_order_relaxed))
      finish(*s, "cancelled");
    else if (now >= s->job->deadline)
      finish(*s, "timeout");
  }

  // The batch: one token for each decoding sequence, then prompt chunks in admission order.
  struct Entry {
    Slot* slot;
    size_t n;  // tokens
  };
  thread_local std::vector<Entry> entries;
  thread_local std::vector<SeqBatch> batch;
  entries.clear();
  batch.clear();
  int64_t budget = opts_.batch_tokens;
  for (auto& s : slots_) {
    if (!s->job || s->prefilling()) continue;
    batch.push_back({{&s->next_token, 1}, &s->cache, SeqBatch::Logits::Last, s->job->lora.get()});
    entries.push_back({s.get(), 1});
    --budget;
  }
  std::vector<Slot*> prefill;
  for (auto& s : slots_)
    if (s->prefilling()) prefill.push_back(s.get());
  std::sort(prefill.begin(), prefill.end(),
            [](Slot* a, Slot* b) { return a->last_used < b->last_used; });
  for (Slot* s : prefill) {
    if (budget <= 0) break;
    const size_t left = s->job->prompt.size() - s->prompt_done;
    const size_t n = std::min<size_t>(left, static_cast<size_t>(budget));
    const bool last = n == left;
    batch.push_back({std::span<const int32_t>(s->job->prompt).subspan(s->prompt_done, n), &s->cache,
                     last ? SeqBatch::Logits::Last : SeqBatch::Logits::None, s->job->lora.get()});
    entries.push_back({s, n});
    budget -= static_cast<int64_t>(n);
  }
  if (batch.empty()) return;

  thread_local Vec logits;
  const auto t_fwd = SteadyClock::now();
  try {
    lm_.model->forward_batch(batch, pool_, logits);
  } catch (const Error& e) {
    for (const Entry& en : entries) finish(*en.slot, "error", e.what());
    return;
  }
  const double fwd_ms = ms_between(t_fwd, SteadyClock::now());
  const double ms_per_token = fwd_ms / static_cast<double>(opts_.batch_tokens - budget);
  for (const Entry& en : entries)
    en.slot->out.compute_ms += ms_per_token * static_cast<double>(en.n);

  const int64_t n_vocab = lm_.model->hparams().n_vocab;
  size_t row = 0;
  uint64_t generated = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    Slot& s = *entries[i].slot;
    GenJob& job = *s.job;
    if (s.prefilling()) {
      s.cached.insert(s.cached.end(), batch[i].tokens.begin(), batch[i].tokens.end());
      s.prompt_done += entries[i].n;
      if (s.prefilling()) continue;  // more prompt to go; no logits this step
    } else {
      s.cached.push_back(s.next_token);
    }
    const std::span<const float> row_logits(logits.data() + row * n_vocab,
                                            static_cast<size_t>(n_vocab));
    ++row;
    const int32_t id = s.sampler->sample(row_logits);
    s.sampler->accept(id);
    ++s.out.completion_tokens;
    ++generated;
    if (s.out.completion_tokens == 1) s.out.ttft_ms = ms_between(job.submitted, SteadyClock::now());

    TokenEvent ev;
    ev.id = id;
    TextStream::Step piece = s.stream->push(id);
    const bool length =
        s.out.completion_tokens >= job.max_tokens || s.cache.n_past() >= s.cache.n_ctx();
    if (!piece.finished && length) piece.text += s.stream->flush();
    ev.text = std::move(piece.text);
    if (job.sampling.logprobs) {
      ev.logprob = s.sampler->logprob();
      ev.top.assign(s.sampler->top_logprobs().begin(), s.sampler->top_logprobs().end());
    }
    // The end-of-generation token itself is not part of the answer (OpenAI does not show it).
    const bool eog =
        piece.finished && job.stop_at_eog && lm_.tokenizer && lm_.tokenizer->is_eog(id);
    if (piece.finished && eog) --s.out.completion_tokens;
    if ((!eog || !ev.text.empty()) && job.on_token && !job.on_token(ev)) {
      finish(s, "cancelled");
      continue;
    }
    if (piece.finished)
      finish(s, "stop");
    else if (length)
      finish(s, "length");
    else
      s.next_token = id;
  }
  std::lock_guard lk(mu_);
  stats_.generated_tokens += generated;
  stats_.busy_ms += fwd_ms;
  ++stats_.steps;
}

}  // namespace rs
