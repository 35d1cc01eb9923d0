// Special tokens in the text (parse_special), user-defined tokens, BOS/EOS handling and the
// detokenization switches.
#include <gtest/gtest.h>

#include <algorithm>

#include "tok_test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;

bool contains(const std::vector<int32_t>& v, int32_t id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

TEST(SpecialTokens, ControlTokensOnlyWithParseSpecial) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/models/qwen2-f32.gguf");
  const Tokenizer& tok = *t.tok;
  const std::string text = "<|im_start|>user\nhi<|im_end|>";
  const auto parsed = tok.encode(text, true, true);
  ASSERT_GE(parsed.size(), 3u);
  EXPECT_EQ(parsed.front(), 8001);  // qwen2 adds no BOS
  EXPECT_EQ(parsed.back(), 8002);
  const auto inner = tok.encode("user\nhi", false, false);
  EXPECT_EQ(std::vector<int32_t>(parsed.begin() + 1, parsed.end() - 1), inner);

  const auto literal = tok.encode(text, true, false);
  EXPECT_FALSE(contains(literal, 8001));
  EXPECT_FALSE(contains(literal, 8002));
  EXPECT_EQ(tok.decode(literal), text);  // plain text again

  // Control tokens vanish from decoded text unless unparse_special.
  EXPECT_EQ(tok.decode(parsed), "user\nhi");
  EXPECT_EQ(tok.decode(parsed, true, true), text);
  EXPECT_EQ(tok.token_to_piece(8001, false), "");
  EXPECT_EQ(tok.token_to_piece(8001, true), "<|im_start|>");
}

TEST(SpecialTokens, UserDefinedTokensAlwaysMatched) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/models/qwen2-f32.gguf");
  const int32_t tool_call = t.tok->token_id("<tool_call>");
  ASSERT_GE(tool_call, 0);
  const auto ids = t.tok->encode("a<tool_call>b", false, false);
  EXPECT_TRUE(contains(ids, tool_call));
  EXPECT_EQ(t.tok->decode(ids), "a<tool_call>b");  // user-defined tokens render as text
}

TEST(SpecialTokens, SpmBosAndSpacePrefix) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "vocab/ggml-vocab-llama-spm.gguf");
  const Tokenizer& tok = *t.tok;
  const auto plain = tok.encode("Hello", true, false);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0], 1);
  EXPECT_EQ(tok.token_text(plain[1]), "\xE2\x96\x81Hello");
  // "<s>" in the text is a BOS when parse_special; the text after it gets the space prefix again.
  EXPECT_EQ(tok.encode("<s>Hello", true, true), (std::vector<int32_t>{1, 1, plain[1]}));
  // Without parse_special it is ordinary text.
  EXPECT_NE(tok.encode("<s>Hello", true, false)[1], 1);
  EXPECT_EQ(tok.encode("", true, false), std::vector<int32_t>{1});
  EXPECT_TRUE(tok.encode("", false, false).empty());

  // llama.cpp keeps the prefix space when it removes a BOS, strips it otherwise.
  EXPECT_EQ(tok.decode(plain), " Hello");
  EXPECT_EQ(tok.decode(std::vector<int32_t>(plain.begin() + 1, plain.end())), "Hello");
  EXPECT_EQ(tok.decode(plain, false, true), "<s> Hello");
  DecodeOptions raw;
  raw.strip_prefix_space = false;
  EXPECT_EQ(tok.detokenize(std::vector<int32_t>(plain.begin() + 1, plain.end()), raw), " Hello");
}

TEST(SpecialTokens, Phi3SpecialTokensStripFollowingWhitespace) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/models/phi3-f32.gguf");
  const Tokenizer& tok = *t.tok;
  const int32_t user = tok.token_id("<|user|>");
  ASSERT_GE(user, 0);
  // llama.cpp gives phi-3's special tokens RSTRIP: the "\n" after <|user|> is dropped.
  EXPECT_EQ(tok.encode("<|user|>\nHi", false, true), tok.encode("<|user|>Hi", false, true));
  // "</s>" is USER_DEFINED in phi-3 vocabularies: matched even without parse_special.
  EXPECT_TRUE(contains(tok.encode("a</s>b", false, false), 2));
}

TEST(SpecialTokens, BertAddsClsAndSep) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/models/bert-f32.gguf");
  const auto ids = t.tok->encode("Hello world", true, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(t.tok->encode("Hello world", false, false), (std::vector<int32_t>{7592, 2088}));
  EXPECT_EQ(t.tok->decode(ids, true, true), " hello world[SEP]");
  EXPECT_EQ(t.tok->encode("[CLS] x", false, true).front(), 101);
}

TEST(SpecialTokens, CleanSpacesSwitch) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "vocab/ggml-vocab-gpt-2.gguf");
  const std::string text = "Is it ? Yes , it 's fine . I ' m sure";
  const auto ids = t.tok->encode(text, false, false);
  EXPECT_EQ(t.tok->decode(ids), "Is it? Yes, it's fine. I'm sure");
  DecodeOptions raw;
  raw.clean_spaces = false;
  EXPECT_EQ(t.tok->detokenize(ids, raw), text);
}

}  // namespace
}  // namespace rs
