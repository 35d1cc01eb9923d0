// Byte-level BPE (tokenizer.ggml.model == "gpt2": gpt-2, llama 3, qwen2, falcon, deepseek,
// starcoder, ...). Text is split by the pre-tokenizer regexes, each piece's bytes are shown as
// GPT-2's printable code points, and adjacent symbols are merged lowest merge rank first (ties:
// leftmost), as llama.cpp does.
//
// Merges are stored as a hash map from the pair of token ids to (rank, merged id), so a 280k-merge
// vocabulary loads in a few tens of milliseconds and each merge step is one lookup.
//
// Invalid UTF-8 input is an rs::Error (llama.cpp throws std::invalid_argument in the same place).
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/bpe_pretokenize.h"
#include "tokenizer/unicode_data.h"
#include "tokenizer/vocab.h"

namespace rs::tok {
namespace {

struct Merge {
  int32_t rank;
  int32_t result;  // -1 when the merged text is no vocabulary entry
};

class BpeTokenizer final : public VocabTokenizer {
 public:
  BpeTokenizer(VocabSpec& spec, const PreTokenizer& pre)
      : VocabTokenizer(TokenizerKind::BytePairEncoding, spec),
        splitter_(spec.custom_regexes.empty() ? pre.regexes : spec.custom_regexes),
        ignore_merges_(pre.ignore_merges) {
    clean_spaces_ = pre.clean_spaces;
    if (pre.no_bos && !spec.bos) bos_ = -1;  // chatglm: llama.cpp clears the default BOS
    for (int b = 0; b < 256; ++b)
      byte_token_[b] = lookup(unicode::byte_to_unicode(static_cast<uint8_t>(b)));
    load_merges(spec.merges);
    finish(spec);
  }

 protected:
  void encode_fragments(const std::vector<Fragment>& fragments, bool add_special,
                        std::vector<int32_t>& out) const override {
    if (add_special && add_bos_) out.push_back(bos_);
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        tokenize(f.text, out);
      }
    }
    if (add_special && add_eos_) out.push_back(eos_);
  }

  std::string make_piece(int32_t id) const override {
    const uint32_t a = attr_[id];
    const std::string& t = text_[id];
    if (a & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return t;
    if (!(a & kAttrNormal)) return {};
    // Map each code point back to its byte (llama_decode_text).
    std::string out;
    out.reserve(t.size());
    for (uint32_t cp : utf8::decode(t)) {
      const int b = unicode::unicode_to_byte(cp);
      if (b >= 0) {
        out += static_cast<char>(b);
      } else {  // llama.cpp's marker for a code point that stands for no byte
        out += "[UNK_BYTE_0x";
        for (unsigned char c : utf8::encode(cp)) out += fmt::format("{:02x}", c);
        out += t + "]";
      }
    }
    return out;
  }

 private:
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void load_merges(const std::vector<std::string>& merges) {
    if (merges.empty()) fail("{}: a BPE tokenizer needs tokenizer.ggml.merges", source_);
    merges_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& m = merges[i];
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos)
        fail("{}: merge {} (\"{}\") is not two tokens separated by a space", source_, i, m);
      const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
      const int32_t l = lookup(left), r = lookup(right);
      if (l < 0 || r < 0)
        fail("{}: merge {} (\"{}\") names a token that is not in the vocabulary (\"{}\")", source_,
             i, m, l < 0 ? left : right);
      std::string merged(left);
      merged += right;
      merges_.emplace(key(l, r), Merge{static_cast<int32_t>(i), lookup(merged)});  // first wins
    }
  }

  struct Symbol {
    int32_t id;  // -1: not a vocabulary entry
    int prev, next;
    uint32_t start, len;  // bytes of the piece; len 0 = merged away
  };
  struct Candidate {
    int32_t rank;
    int left, right;
    uint32_t left_len, right_len;
    int32_t result;
  };
  struct Worse {
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
  };

  void tokenize(std::string_view text, std::vector<int32_t>& out) const {
    require_utf8(text);
    std::vector<Symbol> sym;
    std::priority_queue<Candidate, std::vector<Candidate>, Worse> queue;
    std::string encoded;
    for (const auto& [off, len] : splitter_.split(text)) {
      const std::string_view word = text.substr(off, len);
      if (ignore_merges_) {
        encoded.clear();
        for (unsigned char c : word) encoded += unicode::byte_to_unicode(c);
        const int32_t id = lookup(encoded);
        if (id >= 0) {
          out.push_back(id);
          continue;
        }
      }
      sym.clear();
      for (size_t i = 0; i < word.size(); ++i) {
        const int n = static_cast<int>(word.size());
        const int idx = static_cast<int>(i);
        sym.push_back({byte_token_[static_cast<unsigned char>(word[i])], idx - 1,
                       idx + 1 == n ? -1 : idx + 1, static_cast<uint32_t>(i), 1});
      }
      auto try_add = [&](int l, int r) {
        if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
        auto it = merges_.find(key(sym[l].id, sym[r].id));
        if (it == merges_.end()) return;
        queue.push({it->second.rank, l, r, sym[l].len, sym[r].len, it->second.result});
      };
      for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);
      while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = sym[c.left];
        Symbol& r = sym[c.right];
        if (l.len != c.left_len || r.len != c.right_len || l.len == 0 || r.len == 0) continue;
        l.len += r.len;
        l.id = c.result;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.left;
        try_add(l.prev, c.left);
        try_add(c.left, l.next);
      }
      for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
        const Symbol& s = sym[i];
        if (s.id >= 0) {
          out.push_back(s.id);
          continue;
        }
        // Not a vocabulary entry: llama.cpp looks up each byte of the encoded text on its own
        // and keeps the ones that are tokens (in practice only plain ASCII survives).
        encoded.clear();
        for (unsigned char c : word.substr(s.start, s.len)) encoded += unicode::byte_to_unicode(c);
        for (char c : encoded) {
          const int32_t id = lookup(std::string_view(&c, 1));
          if (id >= 0) out.push_back(id);
        }
      }
    }
  }

  RegexSplitter splitter_;
  bool ignore_merges_;
  int32_t byte_token_[256];
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe(VocabSpec& spec) {
  PreTokenizer pre = pre_tokenizer_for(spec.pre);
  if (!spec.add_bos && pre.add_bos) spec.add_bos = pre.add_bos;
  auto tok = std::make_unique<BpeTokenizer>(spec, pre);
  return tok;
}

}  // namespace rs::tok
