// llama.cpp reference tokenizations (shared/oracle/refs): tokens from
// llama_tokenize(add_special=true, parse_special=false), pieces from
// llama_token_to_piece(special=true) and llama_detokenize(remove_special=true,
// unparse_special=false), for full vocabularies (refs/tokenize) and for the oracle models'
// (partly subset) vocabularies; plus stories260K's llama2.c encodings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tok_test_util.h"

namespace rs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json load_json(const fs::path& p) {
  return json::parse(test::read_file(p));
}

// Compares every prompt of a reference file with `tok`.
void check_reference(const Tokenizer& tok, const json& ref, const std::string& what) {
  if (ref.contains("bos_id")) {
    EXPECT_EQ(tok.bos(), ref["bos_id"].get<int32_t>()) << what;
    EXPECT_EQ(tok.eos(), ref["eos_id"].get<int32_t>()) << what;
    EXPECT_EQ(tok.add_bos(), ref["add_bos"].get<bool>()) << what;
    EXPECT_EQ(tok.add_eos(), ref["add_eos"].get<bool>()) << what;
  }
  if (ref.contains("n_vocab")) {
    EXPECT_EQ(tok.n_vocab(), ref["n_vocab"].get<int32_t>()) << what;
  }
  ASSERT_TRUE(ref.contains("results")) << what;
  for (const json& r : ref["results"]) {
    const std::string prompt = r["prompt"].get<std::string>();
    const auto expected = r["tokens"].get<std::vector<int32_t>>();
    const auto got = tok.encode(prompt, /*add_special=*/true, /*parse_special=*/false);
    EXPECT_EQ(test::ids_str(got), test::ids_str(expected))
        << what << ": \"" << test::escape(prompt) << "\"";
    if (r.contains("detok_remove_special")) {
      EXPECT_EQ(tok.decode(expected, /*remove_special=*/true, /*unparse_special=*/false),
                r["detok_remove_special"].get<std::string>())
          << what << ": \"" << test::escape(prompt) << "\"";
    }
    if (r.contains("token_pieces_hex")) {
      const auto hex = r["token_pieces_hex"].get<std::vector<std::string>>();
      ASSERT_EQ(hex.size(), expected.size()) << what;
      for (size_t i = 0; i < hex.size(); ++i) {
        EXPECT_EQ(test::to_hex(tok.token_to_piece(expected[i], /*special=*/true)), hex[i])
            << what << ": token " << expected[i];
      }
    }
  }
}

std::vector<fs::path> json_files(const fs::path& dir, bool skip_non_model) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    const std::string name = e.path().filename().string();
    if (skip_non_model &&
        (name.find(".kvf32.") != std::string::npos || name.rfind("prompts", 0) == 0))
      continue;
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(OracleRefs, FullVocabularies) {
  RS_REQUIRE_SHARED();
  const fs::path shared = test::shared_dir();
  const auto files = json_files(shared / "oracle/refs/tokenize", false);
  ASSERT_FALSE(files.empty());
  for (const fs::path& f : files) {
    const json ref = load_json(f);
    const std::string model = ref["model"].get<std::string>();
    fs::path vocab = shared / "vocab" / model;
    if (!fs::exists(vocab)) vocab = shared / "oracle/vocab" / model;
    ASSERT_TRUE(fs::exists(vocab)) << "no vocabulary " << model << " for " << f;
    SCOPED_TRACE(model);
    auto t = test::load_gguf_tokenizer(vocab);
    check_reference(*t.tok, ref, model);
  }
}

TEST(OracleRefs, ModelVocabularies) {
  RS_REQUIRE_SHARED();
  const fs::path shared = test::shared_dir();
  const auto files = json_files(shared / "oracle/refs", true);
  ASSERT_FALSE(files.empty());
  int checked = 0;
  for (const fs::path& f : files) {
    const json ref = load_json(f);
    if (!ref.is_object() || !ref.contains("model")) continue;
    const std::string model = ref["model"].get<std::string>();
    fs::path path = shared / "oracle/models" / model;
    if (!fs::exists(path)) path = shared / "models" / model;  // stories260K
    ASSERT_TRUE(fs::exists(path)) << "no model file " << model << " for " << f;
    SCOPED_TRACE(model);
    auto t = test::load_gguf_tokenizer(path);
    check_reference(*t.tok, ref, model);
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(OracleRefs, Stories260KLlama2cEncodings) {
  RS_REQUIRE_SHARED();
  const fs::path shared = test::shared_dir();
  const json ref = load_json(shared / "models/stories260K_reference.json");
  auto t = test::load_gguf_tokenizer(shared / "models/stories260K.gguf");
  const json& ex = ref.contains("encodings") ? ref["encodings"] : ref["encode_examples"];
  ASSERT_EQ(ex.size(), 3u);
  for (const auto& [text, ids] : ex.items()) {
    EXPECT_EQ(test::ids_str(t.tok->encode(text, true, false)),
              test::ids_str(ids.get<std::vector<int32_t>>()))
        << text;
  }
  // The greedy continuation decodes to the reference text (llama2.c, like llama.cpp without a
  // BOS in front, drops the first piece's leading space).
  const auto greedy = ref["greedy_ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(t.tok->decode(greedy), ref["greedy_text"].get<std::string>());
}

// End-of-generation tokens as llama.cpp detects them.
TEST(OracleRefs, EndOfGeneration) {
  RS_REQUIRE_SHARED();
  const fs::path shared = test::shared_dir();
  {
    auto t = test::load_gguf_tokenizer(shared / "oracle/vocab/ggml-vocab-llama-bpe.gguf");
    EXPECT_TRUE(t.tok->is_eog(128001));  // <|end_of_text|> (EOS)
    EXPECT_TRUE(t.tok->is_eog(128008));  // <|eom_id|>
    EXPECT_TRUE(t.tok->is_eog(128009));  // <|eot_id|>
    EXPECT_FALSE(t.tok->is_eog(128000));
    EXPECT_FALSE(t.tok->is_eog(9906));
    EXPECT_EQ(t.tok->eot(), 128009);
  }
  {
    auto t = test::load_gguf_tokenizer(shared / "oracle/models/qwen2-f32.gguf");
    EXPECT_TRUE(t.tok->is_eog(8000));   // <|endoftext|>
    EXPECT_TRUE(t.tok->is_eog(8002));   // <|im_end|>
    EXPECT_FALSE(t.tok->is_eog(8001));  // <|im_start|>
    // FIM pad / repo / file separator end generation too; the FIM tokens become CONTROL.
    EXPECT_TRUE(t.tok->is_eog(t.tok->token_id("<|fim_pad|>")));
    EXPECT_TRUE(t.tok->is_eog(t.tok->token_id("<|repo_name|>")));
    EXPECT_TRUE(t.tok->is_eog(t.tok->token_id("<|file_sep|>")));
    EXPECT_EQ(t.tok->token_type(t.tok->token_id("<|fim_prefix|>")), TokenType::Control);
    EXPECT_EQ(t.tok->token_type(t.tok->token_id("<tool_call>")), TokenType::UserDefined);
  }
  {
    auto t = test::load_gguf_tokenizer(shared / "oracle/models/phi3-f32.gguf");
    EXPECT_TRUE(t.tok->is_eog(7936));                        // <|endoftext|> (EOS)
    EXPECT_TRUE(t.tok->is_eog(t.tok->token_id("<|end|>")));  // EOT
    EXPECT_EQ(t.tok->eot(), t.tok->token_id("<|end|>"));
  }
  {
    auto t = test::load_gguf_tokenizer(shared / "models/stories260K.gguf");
    EXPECT_EQ(t.tok->eog_ids(), std::vector<int32_t>{2});
    EXPECT_EQ(t.tok->sep(), -1);  // 0xFFFFFFFF in the file means "none"
  }
}

}  // namespace
}  // namespace rs
