// llama.cpp's tokenizer test vectors (shared/vocab/*.inp/.out, produced by test-tokenizer-0 at
// llama.cpp c392e509 with add_special = false, parse_special = false): every id must match, and
// the ids must detokenize back to the text.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tok_test_util.h"
#include "tokenizer/vocab.h"

namespace rs {
namespace {

namespace fs = std::filesystem;
using test::read_vocab_cases;

// Checks the .inp/.out vectors of `name` with `tok`; also the round trip.
void check_vectors(const Tokenizer& tok, const std::string& name) {
  const fs::path dir = test::shared_dir() / "vocab";
  const auto cases = read_vocab_cases(dir / (name + ".gguf.inp"), dir / (name + ".gguf.out"));
  ASSERT_FALSE(cases.empty());
  int failures = 0;
  for (const auto& c : cases) {
    const std::vector<int32_t> got = tok.encode(c.text, /*add_special=*/false,
                                                /*parse_special=*/false);
    if (got != c.ids && ++failures <= 10) {
      ADD_FAILURE() << name << ": \"" << test::escape(c.text) << "\"\n  expected "
                    << test::ids_str(c.ids) << "\n  got      " << test::ids_str(got);
    }

    // Round trip: the plain concatenation of the pieces is the text itself (plus the prefix
    // space SPM puts in front); llama.cpp's default decode also gives the text back for SPM,
    // because it strips that prefix space again when no BOS is present.
    DecodeOptions raw;
    raw.remove_special = false;
    raw.strip_prefix_space = false;
    raw.clean_spaces = false;
    const std::string plain = tok.detokenize(c.ids, raw);
    switch (tok.kind()) {
      case TokenizerKind::SentencePiece: {
        const std::string prefix = tok.add_space_prefix() && !c.text.empty() ? " " : "";
        EXPECT_EQ(plain, prefix + c.text) << name << ": \"" << test::escape(c.text) << "\"";
        EXPECT_EQ(tok.decode(c.ids), c.text) << name << ": \"" << test::escape(c.text) << "\"";
        break;
      }
      case TokenizerKind::BytePairEncoding:
        EXPECT_EQ(plain, c.text) << name << ": \"" << test::escape(c.text) << "\"";
        break;
      case TokenizerKind::WordPiece: {
        // WordPiece lowercases, strips accents and drops whitespace and control characters, so
        // compare with the normalized words; a word that became [UNK] cannot come back.
        if (std::find(c.ids.begin(), c.ids.end(), tok.unk()) != c.ids.end()) break;
        std::string normalized;
        for (const auto& w : tok::wordpiece_words(c.text)) normalized += w;
        std::string squeezed = plain;
        squeezed.erase(std::remove(squeezed.begin(), squeezed.end(), ' '), squeezed.end());
        EXPECT_EQ(squeezed, normalized) << name << ": \"" << test::escape(c.text) << "\"";
        break;
      }
    }
  }
  EXPECT_EQ(failures, 0) << name << ": " << failures << " of " << cases.size() << " vectors differ";
}

class VocabVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, MatchesLlamaCpp) {
  RS_REQUIRE_SHARED();
  const std::string name = GetParam();
  const fs::path gguf = test::shared_dir() / "vocab" / (name + ".gguf");
  if (!fs::exists(gguf)) {
    GTEST_SKIP() << name << ": the vectors exist but shared/vocab has no " << name
                 << ".gguf vocabulary to run them with";
  }
  auto t = test::load_gguf_tokenizer(gguf);
  check_vectors(*t.tok, name);
}

INSTANTIATE_TEST_SUITE_P(
    AllVocabs, VocabVectors,
    ::testing::Values("ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-gpt-2",
                      "ggml-vocab-bert-bge", "ggml-vocab-deepseek-coder", "ggml-vocab-deepseek-llm",
                      "ggml-vocab-falcon", "ggml-vocab-mpt", "ggml-vocab-refact",
                      "ggml-vocab-starcoder",
                      // vectors without a vocabulary in shared/: reported as skipped
                      "ggml-vocab-qwen2", "ggml-vocab-command-r", "ggml-vocab-roberta-bpe",
                      "ggml-vocab-chameleon", "ggml-vocab-deepseek-r1-qwen"),
    [](const ::testing::TestParamInfo<std::string>& p) {
      std::string n = p.param.substr(std::string("ggml-vocab-").size());
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

// llama-bpe's vectors have no GGUF in vocab/: run them with the full Llama 3 vocabulary GGUF in
// oracle/vocab and with Llama 3.2's encoder.json + vocab.bpe.
TEST(VocabVectorsLlamaBpe, OracleGguf) {
  RS_REQUIRE_SHARED();
  auto t = test::load_gguf_tokenizer(test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf");
  EXPECT_EQ(t.tok->n_vocab(), 128256);
  check_vectors(*t.tok, "ggml-vocab-llama-bpe");
}

TEST(VocabVectorsLlamaBpe, EncoderJson) {
  RS_REQUIRE_SHARED();
  const fs::path dir = test::shared_dir() / "vocab/llama3-bpe";
  auto tok = Tokenizer::from_encoder_json((dir / "encoder.json").string(),
                                          (dir / "vocab.bpe").string(), "llama3");
  EXPECT_EQ(tok->n_vocab(), 128256);
  EXPECT_EQ(tok->bos(), 128000);
  EXPECT_EQ(tok->eos(), 128001);
  EXPECT_TRUE(tok->add_bos());
  check_vectors(*tok, "ggml-vocab-llama-bpe");
  // With add_special it reproduces the oracle's llama-bpe references (BOS 128000 included).
  const auto ref = nlohmann::json::parse(
      test::read_file(test::shared_dir() / "oracle/refs/tokenize/ggml-vocab-llama-bpe.json"));
  for (const auto& r : ref["results"]) {
    const auto ids = r["tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(r["prompt"].get<std::string>(), true, false), ids);
    EXPECT_EQ(tok->decode(ids), r["detok_remove_special"].get<std::string>());
  }
}

// The encoder.json tokenizer and the GGUF one agree on every token text and piece.
TEST(VocabVectorsLlamaBpe, EncoderJsonEqualsGguf) {
  RS_REQUIRE_SHARED();
  const fs::path dir = test::shared_dir() / "vocab/llama3-bpe";
  auto a = Tokenizer::from_encoder_json((dir / "encoder.json").string(),
                                        (dir / "vocab.bpe").string(), "llama-bpe");
  auto b = test::load_gguf_tokenizer(test::shared_dir() / "oracle/vocab/ggml-vocab-llama-bpe.gguf");
  ASSERT_EQ(a->n_vocab(), b.tok->n_vocab());
  for (int32_t id = 0; id < a->n_vocab(); ++id) {
    ASSERT_EQ(a->token_text(id), b.tok->token_text(id)) << id;
    ASSERT_EQ(a->token_type(id), b.tok->token_type(id)) << id;
  }
  EXPECT_EQ(a->eog_ids(), b.tok->eog_ids());
}

}  // namespace
}  // namespace rs
