// The continuous-batching scheduler against plain single-sequence generation: whatever the mix
// of requests in flight, each returns exactly the tokens it returns alone.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <future>

#include "core/thread_pool.h"
#include "engine/adapters.h"
#include "engine/generate.h"
#include "test_util.h"

namespace rs {
namespace {

struct Collected {
  std::vector<int32_t> ids;
  std::string text;
  GenOutcome out;
};

// Submits a job whose callbacks fill a Collected; the future is ready when it is done.
std::future<Collected> submit(Scheduler& s, std::vector<int32_t> prompt, SamplingParams sp,
                              int64_t max_tokens, std::shared_ptr<GenJob>* keep = nullptr,
                              std::shared_ptr<const LoraAdapter> lora = nullptr) {
  auto job = std::make_shared<GenJob>();
  job->lora = std::move(lora);
  auto col = std::make_shared<Collected>();
  auto done = std::make_shared<std::promise<Collected>>();
  job->prompt = std::move(prompt);
  job->sampling = sp;
  job->max_tokens = max_tokens;
  job->on_token = [col](const TokenEvent& ev) {
    col->ids.push_back(ev.id);
    col->text += ev.text;
    return true;
  };
  job->on_done = [col, done](const GenOutcome& o) {
    col->out = o;
    done->set_value(*col);
  };
  if (keep) *keep = job;
  auto fut = done->get_future();
  EXPECT_TRUE(s.submit(job));
  return fut;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::shared_dir().empty())
      GTEST_SKIP() << "shared/ test data not found (RIGHTSIZE_SHARED_DIR)";
    lm_ = load_model((test::shared_dir() / "models/stories260K.gguf").string());
  }
  std::vector<int32_t> prompt(int i) {
    static const char* texts[] = {"Once upon a time", "The cat",
                                  "Lily and Tom went to the park. They saw",
                                  "One day, a little bird"};
    std::string t = texts[i % 4];
    for (int k = 0; k < i / 4; ++k) t += " and a dog";
    return lm_.tokenizer->encode(t);
  }
  LoadedModel lm_;
};

TEST_F(SchedulerTest, ConcurrentGreedyEqualsAlone) {
  // A pool may be driven by one thread at a time: the scheduler's and the reference runs' apart.
  ThreadPool pool(2), ref_pool(2);
  SamplingParams greedy;
  greedy.temperature = 0;
  GenerateOptions alone_opts;
  alone_opts.n_predict = 24;
  alone_opts.n_ctx = 256;
  alone_opts.sampling = greedy;
  alone_opts.stop_at_eog = true;

  SchedulerOptions so;
  so.n_slots = 5;  // fewer slots than requests: some wait in the queue
  so.n_ctx = 256;
  so.batch_tokens = 7;  // tiny, so prompts are prefilled in several chunks next to decodes
  Scheduler sched(lm_, so, &pool);
  std::vector<std::future<Collected>> futs;
  for (int i = 0; i < 16; ++i) futs.push_back(submit(sched, prompt(i), greedy, 24));
  for (int i = 0; i < 16; ++i) {
    Collected c = futs[i].get();
    GenerateResult ref = generate(lm_, prompt(i), alone_opts, &ref_pool);
    std::vector<int32_t> ref_ids = ref.ids;
    if (ref.finish_reason == "stop" && !ref_ids.empty() && lm_.tokenizer->is_eog(ref_ids.back()))
      ref_ids.pop_back();
    EXPECT_EQ(c.ids, ref_ids) << "request " << i;
    EXPECT_EQ(c.text, ref.text) << "request " << i;
    EXPECT_EQ(c.out.finish_reason, ref.finish_reason) << "request " << i;
    EXPECT_EQ(c.out.prompt_tokens, static_cast<int64_t>(ref.prompt_ids.size()));
  }
  // Prompts 4.. share prefixes with 0..3 ("... and a dog"): some prompt tokens came from caches.
  EXPECT_GT(sched.stats().cached_prompt_tokens, 0u);
}

TEST_F(SchedulerTest, MixedAdaptersEqualAloneAndNeverShareAPrefix) {
  // The same prompts with no adapter and with the synthetic q/v adapter, all in flight at once:
  // each returns what it returns alone with its own adapter, although the token prefixes match
  // (keys/values computed under one adapter must not be reused under another).
  ThreadPool pool(2), ref_pool(2);
  auto adapter = load_lora(
      *lm_.model, (test::shared_dir() / "models/lora/stories260K-synthetic-qv-r4").string());
  SamplingParams greedy;
  greedy.temperature = 0;
  SchedulerOptions so;
  so.n_slots = 3;
  so.n_ctx = 256;
  so.batch_tokens = 9;
  Scheduler sched(lm_, so, &pool);
  std::vector<std::future<Collected>> futs;
  for (int i = 0; i < 8; ++i)
    futs.push_back(submit(sched, prompt(i / 2), greedy, 20, nullptr, i % 2 ? adapter : nullptr));
  GenerateOptions alone;
  alone.n_predict = 20;
  alone.n_ctx = 256;
  alone.sampling = greedy;
  for (int i = 0; i < 8; ++i) {
    lm_.lora = i % 2 ? adapter : nullptr;
    const GenerateResult ref = generate(lm_, prompt(i / 2), alone, &ref_pool);
    const Collected c = futs[i].get();
    EXPECT_EQ(c.text, ref.text) << "request " << i;
  }
  lm_.lora = nullptr;
  // The adapter does change the continuation of at least one prompt.
  GenerateOptions o = alone;
  const std::string base_text = generate(lm_, prompt(0), o, &ref_pool).text;
  lm_.lora = adapter;
  EXPECT_NE(generate(lm_, prompt(0), o, &ref_pool).text, base_text);
  lm_.lora = nullptr;
}

TEST_F(SchedulerTest, SeededSamplingEqualsAlone) {
  ThreadPool pool(1), ref_pool(1);
  SamplingParams sp;
  sp.temperature = 0.9f;
  sp.seed = 1234;
  GenerateOptions opts;
  opts.n_predict = 20;
  opts.n_ctx = 128;
  opts.sampling = sp;
  SchedulerOptions so;
  so.n_slots = 3;
  so.n_ctx = 128;
  Scheduler sched(lm_, so, &pool);
  std::vector<std::future<Collected>> futs;
  for (int i = 0; i < 3; ++i) futs.push_back(submit(sched, prompt(i), sp, 20));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(futs[i].get().text, generate(lm_, prompt(i), opts, &ref_pool).text);
}

TEST_F(SchedulerTest, CancelQueueLimitAndShutdown) {
  ThreadPool pool(1);
  SamplingParams greedy;
  greedy.temperature = 0;
  SchedulerOptions so;
  so.n_slots = 1;
  so.n_ctx = 512;
  so.max_queue = 2;
  Scheduler sched(lm_, so, &pool);
  std::shared_ptr<GenJob> running;
  auto f1 = submit(sched, prompt(0), greedy, 400, &running);
  auto f2 = submit(sched, prompt(1), greedy, 5);  // waits: one slot
  // The queue holds two jobs at most: this third one may be refused, or queued if the first
  // started.
  auto extra = std::make_shared<GenJob>();
  extra->prompt = prompt(2);
  (void)sched.submit(extra);
  running->cancel = true;
  EXPECT_EQ(f1.get().out.finish_reason, "cancelled");
  EXPECT_EQ(f2.get().out.finish_reason, "length");

  auto too_long = std::make_shared<GenJob>();
  too_long->prompt.assign(600, 1);
  EXPECT_THROW(sched.submit(too_long), Error);

  auto f3 = submit(sched, prompt(3), greedy, 100000);
  sched.shutdown(std::chrono::milliseconds(50));
  const std::string reason = f3.get().out.finish_reason;
  EXPECT_TRUE(reason == "shutdown" || reason == "length") << reason;
  auto late = std::make_shared<GenJob>();
  late->prompt = prompt(0);
  EXPECT_FALSE(sched.submit(late));
}

}  // namespace
}  // namespace rs
