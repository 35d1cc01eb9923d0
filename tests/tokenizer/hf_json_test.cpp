// Tokenizers from Hugging Face tokenizer.json. shared/ has no tokenizer.json, so the tests write
// them from the GGUF vocabularies (the inverse of llama.cpp's converter) and require the same
// tokenization as the GGUF: the llama.cpp vectors and the oracle references.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tok_test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path temp_dir() {
  return fs::temp_directory_path() / ("rs_tok_test_" + std::to_string(::getpid()));
}

fs::path temp_file(const std::string& name) {
  fs::create_directories(temp_dir());
  return temp_dir() / name;
}

// Removes the scratch folder when the test binary exits.
struct TempCleanup {
  ~TempCleanup() {
    std::error_code ec;
    fs::remove_all(temp_dir(), ec);
  }
} temp_cleanup;

void write(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// Byte-level BPE tokenizer.json from a GGUF vocabulary.
json bpe_json(const gguf::File& f, bool merges_as_pairs, const json& pre_tokenizer) {
  const auto& tokens = *f.get_strings("tokenizer.ggml.tokens");
  const auto& types = *f.get_ints("tokenizer.ggml.token_type");
  const auto& merges = *f.get_strings("tokenizer.ggml.merges");
  json vocab = json::object(), added = json::array(), jm = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == 3 || types[i] == 4) {
      added.push_back({{"id", i}, {"content", tokens[i]}, {"special", types[i] == 3}});
    } else {
      vocab[tokens[i]] = i;
    }
  }
  for (const std::string& m : merges) {
    if (!merges_as_pairs) {
      jm.push_back(m);
    } else {
      const size_t sp = m.find(' ', 1);
      jm.push_back(json::array({m.substr(0, sp), m.substr(sp + 1)}));
    }
  }
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"pre_tokenizer", pre_tokenizer},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", jm}}}};
}

std::vector<int32_t> ids_of(const json& r) {
  return r["tokens"].get<std::vector<int32_t>>();
}

void check_cases(const Tokenizer& tok, const std::string& vocab_name) {
  const fs::path dir = test::shared_dir() / "vocab";
  const auto cases =
      test::read_vocab_cases(dir / (vocab_name + ".gguf.inp"), dir / (vocab_name + ".gguf.out"));
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    EXPECT_EQ(test::ids_str(tok.encode(c.text, false, false)), test::ids_str(c.ids))
        << vocab_name << ": \"" << test::escape(c.text) << "\"";
  }
}

TEST(HfTokenizerJson, Gpt2ByteLevel) {
  RS_REQUIRE_SHARED();
  auto f = gguf::File::open((test::shared_dir() / "vocab/ggml-vocab-gpt-2.gguf").string());
  const json pre = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const fs::path p = temp_file("gpt2-tokenizer.json");
  write(p, bpe_json(*f, false, pre).dump());
  auto tok = Tokenizer::from_hf_json(p.string());
  EXPECT_EQ(tok->kind(), TokenizerKind::BytePairEncoding);
  EXPECT_EQ(tok->pre(), "gpt-2");
  check_cases(*tok, "ggml-vocab-gpt-2");
}

TEST(HfTokenizerJson, Llama3SplitRegexAndTemplate) {
  RS_REQUIRE_SHARED();
  auto f =
      gguf::File::open((test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf").string());
  const json pre = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array(
           {{{"type", "Split"},
             {"pattern",
              {{"Regex",
                R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  json j = bpe_json(*f, true, pre);
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  const fs::path p = temp_file("llama3-tokenizer.json");
  write(p, j.dump());
  auto tok = Tokenizer::from_hf_json(p.string());
  EXPECT_EQ(tok->pre(), "llama-bpe");
  EXPECT_EQ(tok->bos(), 128000);
  EXPECT_TRUE(tok->add_bos());
  check_cases(*tok, "ggml-vocab-llama-bpe");
  const json ref = json::parse(
      test::read_file(test::shared_dir() / "oracle/refs/tokenize/ggml-vocab-llama-bpe.json"));
  for (const json& r : ref["results"]) {
    EXPECT_EQ(tok->encode(r["prompt"].get<std::string>(), true, false), ids_of(r));
    EXPECT_EQ(tok->decode(ids_of(r)), r["detok_remove_special"].get<std::string>());
  }
}

TEST(HfTokenizerJson, WordPiece) {
  RS_REQUIRE_SHARED();
  auto f = gguf::File::open((test::shared_dir() / "vocab/ggml-vocab-bert-bge.gguf").string());
  const auto& tokens = *f->get_strings("tokenizer.ggml.tokens");
  const auto& types = *f->get_ints("tokenizer.ggml.token_type");
  const std::string phantom = "\xE2\x96\x81";
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string t = tokens[i];
    if (t.rfind(phantom, 0) == 0) {
      t.erase(0, phantom.size());
    } else if (!(t.front() == '[' && t.back() == ']')) {
      t = "##" + t;
    }
    vocab[t] = i;
    if (types[i] == 3) added.push_back({{"id", i}, {"content", t}, {"special", true}});
  }
  json j = {{"added_tokens", added},
            {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", true}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor",
             {{"type", "TemplateProcessing"},
              {"single", json::array({{{"SpecialToken", {{"id", "[CLS]"}}}},
                                      {{"Sequence", {{"id", "A"}}}},
                                      {{"SpecialToken", {{"id", "[SEP]"}}}}})}}},
            {"model",
             {{"type", "WordPiece"},
              {"unk_token", "[UNK]"},
              {"continuing_subword_prefix", "##"},
              {"vocab", vocab}}}};
  const fs::path p = temp_file("bert-tokenizer.json");
  write(p, j.dump());
  auto tok = Tokenizer::from_hf_json(p.string());
  EXPECT_EQ(tok->kind(), TokenizerKind::WordPiece);
  EXPECT_EQ(tok->bos(), 101);
  EXPECT_EQ(tok->sep(), 102);
  EXPECT_EQ(tok->unk(), 100);
  for (int32_t id = 0; id < tok->n_vocab(); ++id) ASSERT_EQ(tok->token_text(id), tokens[id]);
  check_cases(*tok, "ggml-vocab-bert-bge");
  const json ref = json::parse(
      test::read_file(test::shared_dir() / "oracle/refs/tokenize/ggml-vocab-bert-bge.json"));
  for (const json& r : ref["results"]) {
    EXPECT_EQ(tok->encode(r["prompt"].get<std::string>(), true, false), ids_of(r));
    EXPECT_EQ(tok->decode(ids_of(r)), r["detok_remove_special"].get<std::string>());
  }
}

// A Split regex llama.cpp has no name for is used as given.
TEST(HfTokenizerJson, CustomSplitRegex) {
  RS_REQUIRE_SHARED();
  auto f = gguf::File::open((test::shared_dir() / "vocab/ggml-vocab-gpt-2.gguf").string());
  const json pre = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "Split"}, {"pattern", {{"Regex", R"(\p{N}| ?\p{L}+|\s+|.)"}}}},
                    {{"type", "ByteLevel"}, {"use_regex", false}}})}};
  const fs::path p = temp_file("custom-tokenizer.json");
  write(p, bpe_json(*f, false, pre).dump());
  auto tok = Tokenizer::from_hf_json(p.string());
  // Digits are split one by one (gpt-2's own regex would keep "2024" together).
  const auto ids = tok->encode("in 2024", false, false);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(tok->token_to_piece(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"in", " ", "2", "0", "2", "4"}));
}

TEST(HfTokenizerJson, Errors) {
  const fs::path p = temp_file("bad.json");
  write(p, "{ not json");
  EXPECT_THROW(Tokenizer::from_hf_json(p.string()), Error);
  write(p, R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_THROW(Tokenizer::from_hf_json(p.string()), Error);
  // BPE without a byte-level pre-tokenizer (SentencePiece-style BPE) is not supported.
  write(p, R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
  EXPECT_THROW(Tokenizer::from_hf_json(p.string()), Error);
  // A merge naming an unknown token.
  write(p, R"({"pre_tokenizer": {"type": "ByteLevel"},
              "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}})");
  EXPECT_THROW(Tokenizer::from_hf_json(p.string()), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(temp_file("missing.json").string()), Error);
  EXPECT_THROW(Tokenizer::from_encoder_json(p.string(), p.string(), "llama3"), Error);
}

}  // namespace
}  // namespace rs
