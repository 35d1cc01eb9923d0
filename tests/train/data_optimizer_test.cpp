// Fine-tuning data (masks, templates, truncation, errors with line numbers) and the optimizer
// (AdamW's first step, the warm-up + cosine schedule, checkpoints that restore exactly).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/optimizer.h"

namespace rs::train {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> stories_tokenizer() {
  auto f = gguf::File::open((test::shared_dir() / "models/stories260K.gguf").string());
  return Tokenizer::from_gguf(*f);
}

std::string write_lines(const std::string& name, const std::string& text) {
  const auto p = (fs::temp_directory_path() / name).string();
  std::ofstream(p) << text;
  return p;
}

// The text of the target tokens as generation would print it (pieces concatenated, EOS left out).
std::string targets_text(const Tokenizer& tok, const Sequence& s) {
  std::string out;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.target[i] && s.tokens[i] != tok.eos()) out += tok.token_to_piece(s.tokens[i], false);
  return out;
}

TEST(TrainData, CompletionMaskAndTemplateRows) {
  RS_REQUIRE_SHARED();
  auto tok = stories_tokenizer();
  DataOptions o;
  o.text_template = "Message: {text}\nLabel:";
  o.add_eos = false;
  o.max_tokens = 512;
  const auto path =
      write_lines("rs_train_data.jsonl",
                  "{\"prompt\": \"Once upon a time\", \"completion\": \" there was\"}\n\n"
                  "{\"text\": \"Free prize!\", \"label\": \"spam\"}\n");
  const Dataset d = load_jsonl(path, *tok, o);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[0].line, 1);
  EXPECT_EQ(d.examples[1].line, 3);  // the blank line is skipped but counted
  EXPECT_EQ(d.examples[0].seq.tokens[0], tok->bos());
  EXPECT_EQ(d.examples[0].seq.target[0], 0);
  // The prompt is encoded as at inference time, the completion is the rest of the joint encoding.
  const auto prompt = tok->encode("Once upon a time", true);
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), d.examples[0].seq.tokens.begin()));
  EXPECT_EQ(targets_text(*tok, d.examples[0].seq), " there was");
  EXPECT_EQ(d.examples[1].prompt, "Message: Free prize!\nLabel:");
  EXPECT_EQ(targets_text(*tok, d.examples[1].seq), " spam");
  EXPECT_EQ(d.labels, (std::vector<std::string>{"spam"}));
  EXPECT_EQ(d.n_target_tokens, d.examples[0].seq.n_targets() + d.examples[1].seq.n_targets());
}

TEST(TrainData, TruncationKeepsTheTemplateCue) {
  RS_REQUIRE_SHARED();
  auto tok = stories_tokenizer();
  DataOptions o;
  o.text_template = "Message: {text}\nLabel:";
  o.add_eos = true;
  o.max_tokens = 24;
  const std::string long_text(300, 'x');
  const auto path = write_lines("rs_train_trunc.jsonl",
                                "{\"text\": \"" + long_text + "\", \"label\": \"ham\"}\n");
  const Dataset d = load_jsonl(path, *tok, o);
  EXPECT_EQ(d.n_truncated, 1);
  const Example& ex = d.examples[0];
  EXPECT_LE(static_cast<int64_t>(ex.seq.tokens.size()), 24);
  EXPECT_TRUE(ex.prompt.ends_with("\nLabel:")) << ex.prompt;
  EXPECT_EQ(ex.seq.tokens.back(), tok->eos());
  EXPECT_EQ(targets_text(*tok, ex.seq), " ham");
  // prompt/completion rows lose prompt tokens after BOS instead.
  Sequence s =
      tokenize_example(*tok, "one two three four five six seven eight", " nine", false, false, 6);
  EXPECT_EQ(s.tokens.size(), 6u);
  EXPECT_EQ(s.tokens[0], tok->bos());
  EXPECT_EQ(targets_text(*tok, s), " nine");
}

TEST(TrainData, MalformedRowsNameFileAndLine) {
  RS_REQUIRE_SHARED();
  auto tok = stories_tokenizer();
  DataOptions o;
  auto msg = [&](const std::string& text) {
    try {
      load_jsonl(write_lines("rs_train_bad.jsonl", text), *tok, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg("{\"prompt\": \"a\", \"completion\": \" b\"}\n{\"prompt\": \n")
                .find("rs_train_bad.jsonl:2: not a JSON"),
            std::string::npos);
  EXPECT_NE(msg("{\"prompt\": \"a\", \"completion\": \"\"}\n").find(":1: \"completion\" is empty"),
            std::string::npos);
  EXPECT_NE(msg("{\"prompt\": \"a\"}\n").find("\"completion\" must be a string"),
            std::string::npos);
  EXPECT_NE(msg("{\"text\": \"a\", \"label\": \"b\"}\n").find("--template"), std::string::npos);
  EXPECT_NE(
      msg("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n").find("chat template"),
      std::string::npos);
  o.chat_format = ChatFormat::ChatML;
  EXPECT_NE(msg("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n").find("assistant"),
            std::string::npos);
  EXPECT_NE(msg("{\"other\": 1}\n").find("expected"), std::string::npos);
  EXPECT_NE(msg("").find("no examples"), std::string::npos);
}

TEST(TrainData, ChatRowsLearnTheLastAssistantTurn) {
  RS_REQUIRE_SHARED();
  auto tok = stories_tokenizer();
  DataOptions o;
  o.chat_format = ChatFormat::ChatML;
  o.add_eos = false;
  const auto path = write_lines("rs_train_chat.jsonl",
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, "
                                "{\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
  const Dataset d = load_jsonl(path, *tok, o);
  EXPECT_EQ(d.examples[0].prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(d.examples[0].completion, "Hello<|im_end|>");
}

TEST(TrainOptimizer, ScheduleWarmsUpThenFollowsCosine) {
  EXPECT_DOUBLE_EQ(scheduled_lr(0, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(10, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(scheduled_lr(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // half way: (1 + 0.1) / 2
  EXPECT_NEAR(scheduled_lr(100, 100, 10, 1.0, 0.1), 0.1, 1e-12);
}

LoraSet<float> tiny_set() {
  HParams hp;
  hp.n_layer = 1;
  hp.n_embd = 4;
  hp.n_head = 2;
  hp.n_head_kv = 2;
  hp.head_dim = 2;
  hp.head_dim_v = 2;
  hp.n_ff = 6;
  return LoraSet<float>::init(hp, {lora::Target::Q, lora::Target::Down}, 2, 4, false, 9);
}

TEST(TrainOptimizer, AdamWFirstStepMovesEachParameterByLr) {
  LoraSet<float> s = tiny_set();
  std::vector<float> before;
  s.for_each([&](float* p, float* g, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      before.push_back(p[i]);
      g[i] = (i % 2 ? 1e-3f : -2e-3f);  // first step: m̂/√v̂ = sign(g)
    }
  });
  AdamWConfig cfg;
  cfg.max_grad_norm = 0;
  cfg.eps = 1e-12;
  AdamW opt(cfg, s.n_params());
  opt.step(s, 0.01);
  size_t k = 0;
  s.for_each([&](float* p, float*, int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++k)
      EXPECT_NEAR(p[i] - before[k], i % 2 ? -0.01f : 0.01f, 1e-6);
  });
}

TEST(TrainOptimizer, CheckpointRestoresParametersAndMoments) {
  LoraSet<float> s = tiny_set();
  s.for_each([](float*, float* g, int64_t n) {
    for (int64_t i = 0; i < n; ++i) g[i] = 0.1f * static_cast<float>(i + 1);
  });
  AdamW opt({}, s.n_params());
  opt.step(s, 0.05);
  CheckpointState st;
  st.step = 1;
  st.config = {{"rank", 2}};
  const auto path = (fs::temp_directory_path() / "rs_ckpt_test.safetensors").string();
  save_checkpoint(path, s, opt, st);
  LoraSet<float> r = tiny_set();
  AdamW ropt({}, r.n_params());
  const CheckpointState back = load_checkpoint(path, r, ropt, st.config);
  EXPECT_EQ(back.step, 1);
  EXPECT_EQ(ropt.t(), 1);
  EXPECT_EQ(ropt.m(), opt.m());
  EXPECT_EQ(ropt.v(), opt.v());
  EXPECT_EQ(r.layers[0][0].a, s.layers[0][0].a);
  EXPECT_EQ(r.layers[0][6].b, s.layers[0][6].b);
  EXPECT_THROW(load_checkpoint(path, r, ropt, {{"rank", 4}}), Error);
}

}  // namespace
}  // namespace rs::train
