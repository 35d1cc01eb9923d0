// Continuous batching: many generation requests share one model and one thread pool. A single
// scheduler thread loops over steps; at each step it admits queued requests into free slots (at
// token boundaries), gives every decoding sequence one token and the prefilling ones a chunk of
// their prompt (so a long prompt does not stall the others), runs all of it as one batched
// forward pass, samples, and hands each new piece of text to its request's callback.
//
// Slots keep the tokens whose keys/values their cache holds after a request ends; a new request
// starts in the slot sharing its longest prompt prefix, or copies that prefix from any slot, so a
// shared system prompt is computed once. Results are bit-identical to running each request alone
// (Model::forward_batch guarantees it per sequence; sampling is per request).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/loader.h"
#include "engine/sampler.h"
#include "model/lora.h"

namespace rs {

class ThreadPool;

using SteadyClock = std::chrono::steady_clock;

struct TokenEvent {
  int32_t id = -1;
  std::string text;  // complete UTF-8 text (may be empty while a stop string is undecided)
  float logprob = 0;
  std::vector<TokenLogprob> top;  // top_logprobs when asked for
};

struct GenOutcome {
  std::string finish_reason;  // "stop", "length", "cancelled", "timeout", "error", "shutdown"
  std::string error;          // set with finish_reason "error"
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  double queue_ms = 0, ttft_ms = 0, total_ms = 0;  // from submit
  // This request's share of the forward passes it took part in: each pass's time split over
  // the tokens in it (what self-hosted cost accounting charges a request).
  double compute_ms = 0;
};

struct GenJob {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  // LoRA adapter bound to the scheduler's model, applied to this request only (nullptr: the base
  // model). Held until the job ends, so unloading the adapter meanwhile is safe.
  std::shared_ptr<const LoraAdapter> lora;
  int64_t max_tokens = 128;  // the scheduler also stops when the slot's context is full
  std::vector<std::string> stop;
  bool stop_at_eog = true;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  // Both run on the scheduler thread and must return quickly (hand the data to another thread).
  // on_token returning false cancels the request (client gone).
  std::function<bool(const TokenEvent&)> on_token;
  std::function<void(const GenOutcome&)> on_done;
  std::atomic<bool> cancel{false};  // may be set from any thread
  SteadyClock::time_point submitted{};
};

struct SchedulerOptions {
  int n_slots = 4;               // sequences decoded together at most
  int64_t n_ctx = 2048;          // context per slot (prompt + completion)
  KvType kv_type = KvType::F16;  // the slots' caches: f16 halves their memory and attention's reads
  int64_t batch_tokens = 256;    // tokens per forward pass at most (decode tokens + prompt chunks)
  int max_queue = 64;            // waiting requests at most; submit() refuses beyond
  bool reuse_prefix = true;
};

struct SchedulerStats {
  int queued = 0, active = 0, slots = 0;
  int64_t kv_tokens_used = 0, kv_tokens_total = 0;
  uint64_t prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0, steps = 0;
  double busy_ms = 0;  // time spent in forward passes
};

class Scheduler {
 public:
  Scheduler(const LoadedModel& lm, SchedulerOptions opts, ThreadPool* pool);
  ~Scheduler();  // cancels whatever still runs
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a job. False when the queue is full or the scheduler is shutting down (the caller
  // answers 429 / 503). The prompt must be non-empty and shorter than n_ctx (checked: rs::Error).
  bool submit(std::shared_ptr<GenJob> job);

  // Stops admitting; waits up to `grace` for running and queued jobs to finish, then cancels the
  // rest (finish_reason "shutdown") and joins the thread.
  void shutdown(std::chrono::milliseconds grace);

  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return opts_; }
  const LoadedModel& model() const { return lm_; }

 private:
  struct Slot;
  void loop();
  void admit(std::unique_lock<std::mutex>& lk);
  void start_in_slot(Slot& slot, std::shared_ptr<GenJob> job);
  void finish(Slot& slot, std::string reason, std::string error = {});
  void step();

  const LoadedModel& lm_;
  SchedulerOptions opts_;
  ThreadPool* pool_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<GenJob>> queue_;
  bool accepting_ = true, stop_ = false, cancel_all_ = false;
  SchedulerStats stats_;     // counters, guarded by mu_
  uint64_t admissions_ = 0;  // scheduler thread only
  std::thread thread_;
};

}  // namespace rs
