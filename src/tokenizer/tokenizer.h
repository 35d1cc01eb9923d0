// Tokenizers: SentencePiece-style (llama, phi3, gemma: score-driven merges with byte fallback),
// byte-level BPE (gpt-2 style byte map, rank-driven merges, a pre-tokenizer regex per model family,
// run with PCRE2 and Unicode properties), and WordPiece (bert). Built from GGUF `tokenizer.ggml.*`
// metadata, from a Hugging Face `tokenizer.json`, or from `encoder.json` + `vocab.bpe`.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs::gguf {
class File;
}

namespace rs {

enum class TokenizerKind { SentencePiece, BytePairEncoding, WordPiece };

// Detokenization switches. The defaults reproduce llama_detokenize(remove_special=true,
// unparse_special=false) byte for byte, quirks included; turn the two clean-up switches off to get
// the plain concatenation of token pieces (the text that was encoded, for SPM plus the space the
// tokenizer put in front).
struct DecodeOptions {
  bool remove_special = true;    // drop a leading BOS and trailing EOS (when the vocab adds them)
  bool unparse_special = false;  // render control/unknown tokens as their text
  // SPM with add_space_prefix: drop one leading space of the first piece, unless a BOS was
  // removed (llama.cpp keeps the space then).
  bool strip_prefix_space = true;
  // Vocabularies with clean_up_tokenization_spaces (gpt-2 style BPE, WordPiece): " ?" -> "?",
  // " ' " -> "'", " 's" -> "'s", ... as llama.cpp applies them.
  bool clean_spaces = true;
};

// GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Reads tokenizer.ggml.* metadata (model, pre, tokens, scores, token_type, merges, special ids,
  // add_bos_token / add_eos_token, add_space_prefix, ...). Throws rs::Error with a clear message
  // for an unknown model or pre-tokenizer name and for inconsistent metadata (array lengths that
  // differ, merges naming unknown tokens, special ids outside the vocabulary; an id of
  // 0xFFFFFFFF means "none"). Behaviour matches llama.cpp c392e509 token for token.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  // Hugging Face tokenizer.json: byte-level BPE (merges as "a b" or [a, b]; the Split regex picks
  // llama.cpp's pre-tokenizer, an unknown one is used as is) and WordPiece. The vocabulary is
  // converted as llama.cpp's convert_hf_to_gguf.py would, so results equal the converted GGUF's.
  static std::unique_ptr<Tokenizer> from_hf_json(const std::string& path);
  // OpenAI/tiktoken-style encoder.json + vocab.bpe with a named pre-tokenizer (a
  // tokenizer.ggml.pre value). "llama3" / "llama-bpe" append Llama 3's 256 special tokens
  // (<|begin_of_text|> = BOS, <|end_of_text|> = EOS, <|eot_id|>, ...) and add BOS.
  static std::unique_ptr<Tokenizer> from_encoder_json(const std::string& encoder_json,
                                                      const std::string& vocab_bpe,
                                                      const std::string& pre);

  // add_special: add BOS/EOS (or [CLS]/[SEP]) as the model's metadata says.
  // parse_special: recognise control-token text such as "<|im_start|>" inside `text`
  // (user-defined tokens are always recognised, as in llama.cpp).
  // Invalid UTF-8: SentencePiece vocabularies accept any bytes (they become <0xXX> byte tokens,
  // as in llama.cpp); byte-level BPE and WordPiece throw rs::Error naming the offset.
  // Thread-safe: a Tokenizer may encode/decode from several threads at once.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                                      bool parse_special = false) const = 0;
  // Concatenated pieces. remove_special drops BOS/EOS/control tokens (and the SPM leading space
  // rule as llama.cpp applies it); unparse_special renders control tokens as their text.
  virtual std::string decode(std::span<const int32_t> ids, bool remove_special = true,
                             bool unparse_special = false) const = 0;
  // The same with every switch exposed.
  virtual std::string detokenize(std::span<const int32_t> ids, const DecodeOptions& opt) const = 0;
  // The bytes one token stands for (byte tokens give their byte; may be invalid UTF-8 alone).
  virtual std::string token_to_piece(int32_t id, bool special = true) const = 0;

  virtual TokenizerKind kind() const = 0;
  virtual int32_t n_vocab() const = 0;
  virtual const std::string& token_text(int32_t id) const = 0;  // raw vocab entry
  virtual TokenType token_type(int32_t id) const = 0;
  virtual int32_t token_id(std::string_view text) const = 0;  // -1 when absent

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }
  int32_t pad() const { return pad_; }
  int32_t unk() const { return unk_; }
  int32_t sep() const { return sep_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  // End-of-generation: EOS, EOT (<|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, ...).
  bool is_eog(int32_t id) const;
  const std::string& pre() const { return pre_; }  // pre-tokenizer name ("llama-bpe", "qwen2", ...)
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }  // sorted
  bool add_space_prefix() const { return add_space_prefix_; }

 protected:
  int32_t bos_ = -1, eos_ = -1, eot_ = -1, pad_ = -1, unk_ = -1, sep_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  std::vector<int32_t> eog_ids_;
  std::string pre_;
};

}  // namespace rs
