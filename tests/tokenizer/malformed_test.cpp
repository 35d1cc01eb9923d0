// Bad vocabularies and bad input: always an rs::Error with a message, never a crash.
//
// Invalid UTF-8 text: SentencePiece handles it like llama.cpp (the bytes become <0xXX> tokens and
// decode back unchanged); byte-level BPE and WordPiece reject it with rs::Error (llama.cpp throws
// std::invalid_argument there).
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "core/utf8.h"
#include "tok_test_util.h"
#include "tokenizer/vocab.h"

namespace rs {
namespace {

using gguf::Value;

// A small, valid byte-level BPE vocabulary: bytes a, b, c, space (as "Ġ") and merges.
gguf::Writer tiny_bpe() {
  gguf::Writer w;
  w.set("tokenizer.ggml.model", Value::of_string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::of_string("gpt-2"));
  w.set("tokenizer.ggml.tokens", Value::of_strings({"a", "b", "c", "\xC4\xA0", "ab", "abc",
                                                    "\xC4\xA0"
                                                    "a",
                                                    "<|endoftext|>"}));
  w.set("tokenizer.ggml.token_type", Value::of_i32s({1, 1, 1, 1, 1, 1, 1, 3}));
  w.set("tokenizer.ggml.merges", Value::of_strings({"a b", "ab c", "\xC4\xA0 a"}));
  w.set("tokenizer.ggml.bos_token_id", Value::of_u32(7));
  w.set("tokenizer.ggml.eos_token_id", Value::of_u32(7));
  return w;
}

gguf::Writer tiny_spm() {
  gguf::Writer w;
  w.set("tokenizer.ggml.model", Value::of_string("llama"));
  std::vector<std::string> toks = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    toks.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
  }
  for (const char* t : {"\xE2\x96\x81", "a", "b",
                        "\xE2\x96\x81"
                        "a",
                        "ab"}) {
    toks.push_back(t);
    types.push_back(1);
  }
  std::vector<float> scores(toks.size(), 0.0f);
  scores[toks.size() - 2] = -1.0f;
  scores[toks.size() - 1] = -2.0f;
  w.set("tokenizer.ggml.tokens", Value::of_strings(toks));
  w.set("tokenizer.ggml.token_type", Value::of_i32s(types));
  w.set("tokenizer.ggml.scores", Value::of_f32s(scores));
  return w;
}

// Parses the writer's bytes and builds a tokenizer (the bytes outlive the call).
std::unique_ptr<Tokenizer> build(const gguf::Writer& w) {
  const std::vector<uint8_t> bytes = w.to_bytes();
  auto file = gguf::File::parse(bytes, "test.gguf");
  return Tokenizer::from_gguf(*file);
}

std::string error_of(const gguf::Writer& w) {
  try {
    build(w);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Malformed, ValidTinyVocabulariesWork) {
  auto bpe = build(tiny_bpe());
  // " ab": "a b" (rank 0) wins over "Ġ a" (rank 2), so the space stays alone.
  EXPECT_EQ(bpe->encode("abc ab", false, false), (std::vector<int32_t>{5, 3, 4}));
  EXPECT_EQ(bpe->encode(" ac", false, false), (std::vector<int32_t>{6, 2}));
  auto spm = build(tiny_spm());
  EXPECT_EQ(spm->decode(spm->encode("ab a", true, false)), " ab a");
}

TEST(Malformed, VocabularyInconsistencies) {
  {
    auto w = tiny_spm();
    w.set("tokenizer.ggml.scores", Value::of_f32s({0.0f, 1.0f}));
    EXPECT_NE(error_of(w).find("scores has 2 entries"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_spm();
    w.set("tokenizer.ggml.token_type", Value::of_i32s({1, 1, 1}));
    EXPECT_NE(error_of(w).find("token_type has 3 entries"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.merges", Value::of_strings({"a b", "a zz"}));
    EXPECT_NE(error_of(w).find("not in the vocabulary (\"zz\")"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.merges", Value::of_strings({"ab"}));
    EXPECT_NE(error_of(w).find("not two tokens"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_bpe();
    w.remove("tokenizer.ggml.merges");
    EXPECT_NE(error_of(w).find("needs tokenizer.ggml.merges"), std::string::npos);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.eos_token_id", Value::of_u32(1000));
    EXPECT_NE(error_of(w).find("eos = 1000 is outside the vocabulary"), std::string::npos)
        << error_of(w);
  }
  {
    auto w = tiny_spm();
    w.set("tokenizer.ggml.unknown_token_id", Value::of_i32(-5));
    EXPECT_NE(error_of(w).find("unknown = -5"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.pre", Value::of_string("no-such-pre"));
    EXPECT_NE(error_of(w).find("unknown BPE pre-tokenizer \"no-such-pre\""), std::string::npos);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.model", Value::of_string("t6"));
    EXPECT_NE(error_of(w).find("unsupported tokenizer.ggml.model \"t6\""), std::string::npos);
  }
  {
    auto w = tiny_bpe();
    w.remove("tokenizer.ggml.model");
    EXPECT_NE(error_of(w).find("no tokenizer.ggml.model"), std::string::npos);
  }
  {
    auto w = tiny_bpe();
    w.remove("tokenizer.ggml.tokens");
    EXPECT_NE(error_of(w).find("no tokenizer.ggml.tokens"), std::string::npos);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.tokens", Value::of_i32s({1, 2, 3}));
    EXPECT_NE(error_of(w), "");
  }
  {
    auto w = tiny_spm();
    w.set("tokenizer.ggml.tokens", Value::of_strings({}));
    w.remove("tokenizer.ggml.scores");
    w.remove("tokenizer.ggml.token_type");
    EXPECT_NE(error_of(w).find("no tokens"), std::string::npos) << error_of(w);
  }
  {
    auto w = tiny_bpe();
    w.set("tokenizer.ggml.add_bos_token", Value::of_string("yes"));
    EXPECT_NE(error_of(w), "");
  }
  {  // 0xFFFFFFFF means "no such token" (stories260K writes it), not an error
    auto w = tiny_spm();
    w.set("tokenizer.ggml.seperator_token_id", Value::of_u32(0xFFFFFFFFu));
    EXPECT_EQ(error_of(w), "");
  }
}

TEST(Malformed, BadIdsAtRunTime) {
  auto bpe = build(tiny_bpe());
  const std::vector<int32_t> bad = {0, 99};
  EXPECT_THROW(bpe->decode(bad), Error);
  EXPECT_THROW(bpe->token_to_piece(-1), Error);
  EXPECT_THROW(bpe->token_text(8), Error);
  EXPECT_EQ(bpe->token_id("nope"), -1);
  EXPECT_FALSE(bpe->is_eog(-1));
  EXPECT_TRUE(bpe->is_eog(7));
}

TEST(Malformed, InvalidUtf8Input) {
  RS_REQUIRE_SHARED();
  const auto dir = test::shared_dir();
  const std::vector<std::string> bad = {
      "\xFF",         "abc\xC3",  "\xE2\x82",         "a\x80z",
      "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", std::string("a\0b", 3)};
  auto spm = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-llama-spm.gguf");
  auto bpe = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-gpt-2.gguf");
  auto wpm = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-bert-bge.gguf");
  DecodeOptions raw;
  raw.remove_special = false;
  raw.strip_prefix_space = false;
  raw.clean_spaces = false;
  for (const std::string& s : bad) {
    const auto ids = spm.tok->encode(s, false, false);
    EXPECT_EQ(spm.tok->detokenize(ids, raw), " " + s) << test::to_hex(s);
    if (!utf8::is_valid(s)) {
      EXPECT_THROW(bpe.tok->encode(s, true, false), Error) << test::to_hex(s);
      EXPECT_THROW(wpm.tok->encode(s, true, false), Error) << test::to_hex(s);
    } else {
      EXPECT_EQ(bpe.tok->detokenize(bpe.tok->encode(s, false, false), raw), s);
    }
  }
}

// Random input never crashes; valid UTF-8 survives the byte-level round trip exactly.
TEST(Malformed, RandomInput) {
  RS_REQUIRE_SHARED();
  const auto dir = test::shared_dir();
  auto spm = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-phi-3.gguf");
  auto bpe = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-deepseek-llm.gguf");
  auto wpm = test::load_gguf_tokenizer(dir / "vocab/ggml-vocab-bert-bge.gguf");
  std::mt19937 rng(1234);
  DecodeOptions raw;
  raw.remove_special = false;
  raw.strip_prefix_space = false;
  raw.clean_spaces = false;
  for (int iter = 0; iter < 300; ++iter) {
    std::string bytes, text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) bytes += static_cast<char>(rng() % 256);
    for (int i = 0; i < n; ++i) {
      uint32_t cp;
      switch (rng() % 4) {
        case 0:
          cp = 0x20 + rng() % 0x60;
          break;
        case 1:
          cp = rng() % 0x800;
          break;
        case 2:
          cp = rng() % 0x10000;
          break;
        default:
          cp = rng() % 0x110000;
          break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
      utf8::append(text, cp);
    }
    for (const std::string& s : {bytes, text}) {
      // SentencePiece keeps every byte. With invalid UTF-8 a lead byte can swallow the escaped
      // space after it, which then comes back as U+2581 (llama.cpp does the same), so compare
      // with spaces and U+2581 identified.
      const auto ids = spm.tok->encode(s, true, true);
      std::string got = spm.tok->decode(ids, true, true), want = s.empty() ? "" : " " + s;
      if (!utf8::is_valid(s)) {
        tok::unescape_spaces(got);
        tok::unescape_spaces(want);
      }
      EXPECT_EQ(got, want) << test::to_hex(s);
      try {
        (void)bpe.tok->encode(s, true, true);
        (void)wpm.tok->encode(s, true, true);
        EXPECT_TRUE(utf8::is_valid(s));
      } catch (const Error&) {
        EXPECT_FALSE(utf8::is_valid(s)) << test::to_hex(s);
      }
    }
    // Valid text: the byte-level round trip is exact (no special parsing, no clean-up).
    const auto b = bpe.tok->encode(text, false, false);
    EXPECT_EQ(bpe.tok->detokenize(b, raw), text) << test::to_hex(text);
  }
}

}  // namespace
}  // namespace rs
