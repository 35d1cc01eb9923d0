// Internal to the tokenizer layer: the vocabulary description every source (GGUF metadata,
// tokenizer.json, encoder.json + vocab.bpe) is turned into, and the shared base class that owns
// the token table and implements what llama.cpp does the same way for every model type: special
// token partitioning, token pieces, detokenization and end-of-generation detection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace rs::tok {

// What a source says about a vocabulary; unset optionals take llama.cpp's per-model defaults.
struct VocabSpec {
  std::string source;  // file name, for error messages
  std::string model;   // tokenizer.ggml.model: "llama", "gpt2", "bert"
  std::string pre;     // tokenizer.ggml.pre ("" = default)
  std::string name;    // general.name (llama.cpp keys a phi-3 rule on it)
  std::vector<std::string> tokens;
  std::vector<float> scores;        // empty, or one per token
  std::vector<int32_t> types;       // empty, or one per token (TokenType values)
  std::vector<std::string> merges;  // BPE, "left right", best first
  // A pre-tokenizer regex sequence given by the source itself (tokenizer.json with an unknown
  // Split pattern); empty = use the table for `pre`.
  std::vector<std::string> custom_regexes;

  std::optional<int64_t> bos, eos, eot, eom, unk, sep, pad, mask;
  std::optional<int64_t> fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

// llama.cpp token attributes (llama_token_attr bits).
enum Attr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

// Token text -> id. The keys view the strings of VocabTokenizer::text_, which never change after
// construction, so the table holds no second copy of a 128k-token vocabulary.
using TokenMap = std::unordered_map<std::string_view, int32_t>;

// A piece of the input after special-token partitioning: either raw text or one token id.
struct Fragment {
  int32_t token = -1;  // >= 0: a special token found in the text
  std::string_view text;
};

class VocabTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                              bool parse_special = false) const override;
  std::string decode(std::span<const int32_t> ids, bool remove_special = true,
                     bool unparse_special = false) const override;
  std::string detokenize(std::span<const int32_t> ids, const DecodeOptions& opt) const override;
  std::string token_to_piece(int32_t id, bool special = true) const override;

  TokenizerKind kind() const override { return kind_; }
  int32_t n_vocab() const override { return static_cast<int32_t>(text_.size()); }
  const std::string& token_text(int32_t id) const override;
  TokenType token_type(int32_t id) const override;
  int32_t token_id(std::string_view text) const override;

  uint32_t attr(int32_t id) const { return attr_[static_cast<size_t>(id)]; }
  float score(int32_t id) const { return score_[static_cast<size_t>(id)]; }
  bool clean_spaces() const { return clean_spaces_; }

  // Splits `text` at special tokens as llama.cpp's tokenizer_st_partition does: control and
  // unknown tokens only when parse_special, user-defined tokens always; longest tokens first.
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;

 protected:
  // Reads the common part of `spec` (tokens, types, special ids, flags) with llama.cpp's
  // defaults for `kind`. Subclasses set their own flags, then call finish().
  VocabTokenizer(TokenizerKind kind, VocabSpec& spec);
  // Detects EOT/EOM/FIM/EOG tokens, builds the special-token list and the piece cache.
  void finish(const VocabSpec& spec);

  // Model-specific: tokens for the fragments, BOS/EOS included as the model adds them.
  virtual void encode_fragments(const std::vector<Fragment>& fragments, bool add_special,
                                std::vector<int32_t>& out) const = 0;
  // The piece of a token as llama.cpp renders it with special=true.
  virtual std::string make_piece(int32_t id) const = 0;

  int32_t lookup(std::string_view s) const {
    auto it = to_id_.find(s);
    return it == to_id_.end() ? -1 : it->second;
  }
  void check_id(int32_t id) const;

  TokenizerKind kind_;
  std::string source_;
  std::vector<std::string> text_;
  std::vector<float> score_;
  std::vector<int32_t> type_;
  std::vector<uint32_t> attr_;
  TokenMap to_id_;
  size_t max_token_len_ = 0;
  int32_t eom_ = -1, mask_ = -1;
  int32_t fim_pre_ = -1, fim_suf_ = -1, fim_mid_ = -1, fim_pad_ = -1, fim_rep_ = -1, fim_sep_ = -1;
  bool clean_spaces_ = false;
  std::vector<int32_t> special_tokens_;  // partition order: longest text first
  std::vector<std::string> pieces_;      // token_to_piece(id, special=true)
};

// Factories for the three model types (spm.cpp, bpe.cpp, wordpiece.cpp).
std::unique_ptr<Tokenizer> make_spm(VocabSpec& spec);
std::unique_ptr<Tokenizer> make_bpe(VocabSpec& spec);
std::unique_ptr<Tokenizer> make_wordpiece(VocabSpec& spec);
// Picks the factory from spec.model; throws rs::Error for an unknown model.
std::unique_ptr<Tokenizer> make_tokenizer(VocabSpec& spec);

// WordPiece basic tokenization (wordpiece.cpp): normalized, lowercased words and single
// punctuation / CJK characters, exactly as llama.cpp splits them before the vocabulary lookup.
std::vector<std::string> wordpiece_words(std::string_view text);

// Shared helpers.
void escape_spaces(std::string& s);    // " " -> U+2581
void unescape_spaces(std::string& s);  // U+2581 -> " "
// Throws rs::Error naming the offset of the first invalid UTF-8 sequence.
void require_utf8(std::string_view text);

}  // namespace rs::tok
