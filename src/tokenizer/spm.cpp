// SentencePiece-style tokenizer as llama.cpp runs it for tokenizer.ggml.model == "llama" (llama,
// phi-3, gemma, baichuan, llama2.c vocabularies): spaces become U+2581, a space is put in front
// of the text (add_space_prefix), then adjacent pieces are merged greedily, always taking the pair
// whose merged text is the vocabulary entry with the highest score (ties: leftmost). Whatever does
// not end up as a vocabulary entry falls back to <0xXX> byte tokens.
//
// Invalid UTF-8 is accepted, as in llama.cpp: the text is cut into symbols by the length its
// lead bytes announce, and symbols that are no token become byte tokens, so nothing is lost.
#include <queue>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/vocab.h"

namespace rs::tok {
namespace {

class SpmTokenizer final : public VocabTokenizer {
 public:
  explicit SpmTokenizer(VocabSpec& spec) : VocabTokenizer(TokenizerKind::SentencePiece, spec) {
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const char name[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
      int32_t id = lookup(name);
      if (id < 0) id = lookup(std::string(1, static_cast<char>(b)));
      byte_token_[b] = id;
    }
    finish(spec);
  }

 protected:
  void encode_fragments(const std::vector<Fragment>& fragments, bool add_special,
                        std::vector<int32_t>& out) const override {
    bool prev_special = true;  // the first text fragment gets the space prefix
    if (add_special && add_bos_) out.push_back(bos_);
    std::string text;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      text.clear();
      if (add_space_prefix_ && prev_special) text = ' ';
      text.append(f.text);
      escape_spaces(text);
      tokenize(text, out);
      prev_special = false;
    }
    if (add_special && add_eos_) out.push_back(eos_);
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
    if (a & kAttrByte) return std::string(1, static_cast<char>(byte_value(t)));
    return {};
  }

 private:
  struct Symbol {
    int prev, next;
    uint32_t start, len;  // bytes of the text; len 0 = merged away
  };
  struct Bigram {
    int left, right;
    float score;
    uint32_t len;  // bytes of the merged text, to spot stale entries
  };
  struct Worse {
    bool operator()(const Bigram& a, const Bigram& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  using Queue = std::priority_queue<Bigram, std::vector<Bigram>, Worse>;

  // "<0x1F>" -> 0x1F (llama.cpp parses the two hex digits after "<0x").
  static int byte_value(const std::string& t) {
    if (t.size() >= 6 && t.compare(0, 3, "<0x") == 0) {
      auto hexval = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hexval(t[3]), lo = hexval(t[4]);
      if (hi >= 0 && lo >= 0) return hi * 16 + lo;
    }
    return t.empty() ? 0 : static_cast<unsigned char>(t[0]);
  }

  void tokenize(const std::string& text, std::vector<int32_t>& out) const {
    std::vector<Symbol> sym;
    sym.reserve(text.size());
    for (size_t off = 0; off < text.size();) {
      const size_t len =
          std::min(utf8::seq_len(static_cast<unsigned char>(text[off])), text.size() - off);
      const int idx = static_cast<int>(sym.size());
      sym.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1, static_cast<uint32_t>(off),
                     static_cast<uint32_t>(len)});
      off += len;
    }
    Queue queue;
    auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const std::string_view merged(text.data() + sym[left].start, sym[left].len + sym[right].len);
      const int32_t id = lookup(merged);
      if (id < 0) return;
      queue.push({left, right, score_[id], static_cast<uint32_t>(merged.size())});
    };
    for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
      const Bigram bg = queue.top();
      queue.pop();
      Symbol& l = sym[bg.left];
      Symbol& r = sym[bg.right];
      if (l.len == 0 || r.len == 0 || l.len + r.len != bg.len) continue;
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = bg.left;
      try_add(l.prev, bg.left);
      try_add(bg.left, l.next);
    }
    for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
      const std::string_view piece(text.data() + sym[i].start, sym[i].len);
      const int32_t id = lookup(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      for (char c : piece) out.push_back(byte_token(static_cast<unsigned char>(c)));
    }
  }

  int32_t byte_token(unsigned char b) const {
    if (byte_token_[b] >= 0) return byte_token_[b];
    // llama.cpp throws here; we degrade to <unk> when the vocabulary has one.
    if (unk_ >= 0) return unk_;
    fail("{}: cannot encode byte 0x{:02X}: the vocabulary has neither a byte token nor <unk>",
         source_, b);
  }

  int32_t byte_token_[256];
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm(VocabSpec& spec) {
  return std::make_unique<SpmTokenizer>(spec);
}

}  // namespace rs::tok
