// WordPiece (tokenizer.ggml.model == "bert") as llama.cpp runs it:
//  1. basic tokenization: each code point is mapped to the first code point of its NFD form
//     (which strips accents), lowercased; whitespace ends a word; NUL, U+FFFD and control
//     characters are dropped; punctuation, ASCII symbols and CJK ideographs become one-character
//     words;
//  2. each word, with U+2581 in front, is covered greedily by the longest vocabulary entries.
//     llama.cpp's converter stores "word" as "\u2581word" and "##piece" as "piece", so the
//     first piece must start with U+2581 and the continuations are looked up plainly. A word that
//     cannot be covered becomes [UNK].
// [CLS] ... [SEP] are added when add_special (regardless of add_bos_token, as in llama.cpp).
//
// Invalid UTF-8 input is an rs::Error.
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/unicode_data.h"
#include "tokenizer/vocab.h"

namespace rs::tok {

namespace {

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B920 && cp <= 0x2CEAF) ||  // sic: HF's tokenizers start this block at 2B920
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

class WordPieceTokenizer final : public VocabTokenizer {
 public:
  explicit WordPieceTokenizer(VocabSpec& spec) : VocabTokenizer(TokenizerKind::WordPiece, spec) {
    finish(spec);
  }

 protected:
  void encode_fragments(const std::vector<Fragment>& fragments, bool add_special,
                        std::vector<int32_t>& out) const override {
    if (add_special) {
      if (bos_ < 0) fail("{}: cannot add [CLS]: the vocabulary has no BOS/CLS token", source_);
      out.push_back(bos_);
    }
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        tokenize(f.text, out);
      }
    }
    if (add_special) {
      if (sep_ < 0) fail("{}: cannot add [SEP]: the vocabulary has no separator token", source_);
      out.push_back(sep_);
    }
  }

  std::string make_piece(int32_t id) const override {
    const uint32_t a = attr_[id];
    const std::string& t = text_[id];
    if (a & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return t;
    if (a & kAttrNormal) {
      std::string s = t;
      unescape_spaces(s);
      return s;
    }
    return {};  // byte tokens cannot occur in a WordPiece vocabulary that llama.cpp loads
  }

 private:
  void tokenize(std::string_view text, std::vector<int32_t>& out) const {
    std::string word1;
    for (const std::string& word : wordpiece_words(text)) {
      word1 = "\xE2\x96\x81" + word;
      const size_t n = word1.size();
      const size_t before = out.size();
      for (size_t i = 0; i < n; ++i) {
        bool match = false;
        for (size_t j = std::min(n, i + max_token_len_ + 1); j > i; --j) {
          const int32_t id = lookup(std::string_view(word1).substr(i, j - i));
          if (id >= 0) {
            out.push_back(id);
            match = true;
            i = j - 1;
            break;
          }
        }
        if (!match) {  // discard the partial cover of this word
          out.resize(before);
          break;
        }
      }
      if (out.size() == before) {
        if (unk_ < 0) fail("{}: word \"{}\" has no cover and there is no [UNK]", source_, word);
        out.push_back(unk_);
      }
    }
  }
};

}  // namespace

std::vector<std::string> wordpiece_words(std::string_view text) {
  require_utf8(text);
  std::vector<std::string> words(1);
  for (uint32_t cp : utf8::decode(text)) {
    cp = unicode::nfd_first(cp);
    const uint16_t fl = unicode::flags(cp);
    if (fl & unicode::kWhitespace) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == 0xFFFD || (fl & unicode::kControl)) continue;
    const std::string s = utf8::encode(unicode::to_lower(cp));
    if ((fl & unicode::kPunctuation) || (cp < 0x7F && (fl & unicode::kSymbol)) ||
        is_chinese_char(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = s;
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

std::unique_ptr<Tokenizer> make_wordpiece(VocabSpec& spec) {
  return std::make_unique<WordPieceTokenizer>(spec);
}

}  // namespace rs::tok
