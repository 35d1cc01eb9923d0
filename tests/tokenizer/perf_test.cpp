// Speed sanity (printed, not asserted): loading the 128k-token / 280k-merge Llama 3 vocabulary
// and encoding 100 KB of English text.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tok_test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// About `bytes` of real English dialogue from the DialogSum test split.
std::string english_text(size_t bytes) {
  std::ifstream in(test::shared_dir() / "datasets/dialogsum/test.jsonl");
  std::string text, line;
  while (text.size() < bytes && std::getline(in, line)) {
    text += nlohmann::json::parse(line)["text"].get<std::string>();
    text += "\n\n";
  }
  if (text.size() > bytes) text.resize(bytes);
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80)
    text.pop_back();  // do not cut a character in half
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text;
}

TEST(Perf, Llama3Vocab100KB) {
  RS_REQUIRE_SHARED();
  const std::string text = english_text(100 * 1024);
  ASSERT_GT(text.size(), 90u * 1024);

  auto t0 = Clock::now();
  auto file =
      gguf::File::open((test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf").string());
  const double parse_ms = ms_since(t0);
  t0 = Clock::now();
  auto tok = Tokenizer::from_gguf(*file);
  const double build_ms = ms_since(t0);

  t0 = Clock::now();
  const auto ids = tok->encode(text, true, false);
  const double encode_ms = ms_since(t0);
  t0 = Clock::now();
  const std::string back = tok->decode(ids, true, false);
  const double decode_ms = ms_since(t0);

  std::printf(
      "[ perf     ] llama3 vocab: GGUF parse %.1f ms, tokenizer build (128256 tokens, 280147 "
      "merges) %.1f ms; encode %zu bytes -> %zu tokens in %.1f ms (%.1f MB/s); decode %.1f ms\n",
      parse_ms, build_ms, text.size(), ids.size(), encode_ms,
      static_cast<double>(text.size()) / 1e3 / encode_ms, decode_ms);
  EXPECT_GT(ids.size(), text.size() / 8);
  DecodeOptions raw;
  raw.clean_spaces = false;
  EXPECT_EQ(tok->detokenize(ids, raw), text);
}

TEST(Perf, SpmAndWordPiece100KB) {
  RS_REQUIRE_SHARED();
  const std::string text = english_text(100 * 1024);
  for (const char* name : {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-bert-bge.gguf"}) {
    auto t = test::load_gguf_tokenizer(test::shared_dir() / name);
    const auto t0 = Clock::now();
    const auto ids = t.tok->encode(text, true, false);
    std::printf("[ perf     ] %s: encode %zu bytes -> %zu tokens in %.1f ms\n", name, text.size(),
                ids.size(), ms_since(t0));
    EXPECT_GT(ids.size(), text.size() / 8);
  }
}

// One tokenizer shared by several threads gives every thread the same ids.
TEST(Perf, ConcurrentEncode) {
  RS_REQUIRE_SHARED();
  const std::string text = english_text(20 * 1024) +
                           " \xC3\xBC"
                           "ber 123456 <|eot_id|>";
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf");
  const auto expected = t.tok->encode(text, true, true);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) got[i] = t.tok->encode(text, true, true);
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
  EXPECT_EQ(expected.back(), 128009);
}

}  // namespace
}  // namespace rs
