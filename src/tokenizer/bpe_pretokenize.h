// Byte-level BPE pre-tokenization: the regex sequence llama.cpp applies for each
// tokenizer.ggml.pre value, run with PCRE2 (UTF + Unicode properties).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rs::tok {

struct PreTokenizer {
  std::vector<std::string> regexes;  // applied in sequence, each to the pieces of the previous
  bool clean_spaces = true;          // llama.cpp's clean_up_tokenization_spaces on decode
  bool ignore_merges = false;        // a pre-token that is a whole vocabulary entry is kept as is
  std::optional<bool> add_bos;       // default before metadata overrides it
  bool no_bos = false;               // the pre-tokenizer clears the BOS id (chatglm)
};

// Throws rs::Error for a name llama.cpp does not know. "" means "default" (llama.cpp warns).
PreTokenizer pre_tokenizer_for(const std::string& pre);
// The regex sequence of a known name, or nullopt (used to map a tokenizer.json Split pattern to
// the name llama.cpp's converter would have chosen).
std::optional<std::string> pre_name_for_regex(const std::string& regex);

// Compiled regex sequence. Thread-safe: matching allocates its own match data.
class RegexSplitter {
 public:
  explicit RegexSplitter(const std::vector<std::string>& patterns);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Splits valid UTF-8 `text` into pieces (byte offset, length) that tile it: each regex cuts
  // every piece of the previous pass into its matches and the unmatched gaps between them. A
  // match never looks past the piece it is in, as in llama.cpp.
  std::vector<std::pair<size_t, size_t>> split(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rs::tok
