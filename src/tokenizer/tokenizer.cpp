// Tokenizer factory (GGUF metadata) and the behaviour llama.cpp shares between model types:
// token table and attributes, special-token defaults and auto-detection, partitioning the input
// at special tokens, token pieces and detokenization.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <limits>

#include "core/error.h"
#include "core/utf8.h"
#include "formats/gguf.h"
#include "tokenizer/vocab.h"

namespace rs {

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  tok::VocabSpec spec;
  spec.source = file.name();
  auto model = file.get_string("tokenizer.ggml.model");
  if (!model)
    fail("{}: no tokenizer.ggml.model in the metadata, so the file carries no tokenizer",
         file.name());
  spec.model = *model;
  spec.pre = file.get_string("tokenizer.ggml.pre").value_or("");
  spec.name = file.get_string("general.name").value_or("");

  const auto* tokens = file.get_strings("tokenizer.ggml.tokens");
  if (!tokens) fail("{}: no tokenizer.ggml.tokens in the metadata", file.name());
  spec.tokens = *tokens;
  if (const auto* scores = file.get_floats("tokenizer.ggml.scores"))
    spec.scores.assign(scores->begin(), scores->end());
  if (const auto* types = file.get_ints("tokenizer.ggml.token_type")) {
    spec.types.reserve(types->size());
    for (int64_t t : *types) {
      if (t < std::numeric_limits<int32_t>::min() || t > std::numeric_limits<int32_t>::max())
        fail("{}: tokenizer.ggml.token_type has an out-of-range value {}", file.name(), t);
      spec.types.push_back(static_cast<int32_t>(t));
    }
  }
  if (const auto* merges = file.get_strings("tokenizer.ggml.merges")) spec.merges = *merges;

  auto id = [&](const char* key) { return file.get_int(std::string("tokenizer.ggml.") + key); };
  spec.bos = id("bos_token_id");
  if (!spec.bos) spec.bos = id("cls_token_id");  // BERT converters write [CLS] here
  spec.eos = id("eos_token_id");
  spec.eot = id("eot_token_id");
  spec.eom = id("eom_token_id");
  spec.unk = id("unknown_token_id");
  spec.sep = id("seperator_token_id");  // sic: the key llama.cpp writes
  spec.pad = id("padding_token_id");
  spec.mask = id("mask_token_id");
  spec.fim_pre = id("fim_pre_token_id");
  if (!spec.fim_pre) spec.fim_pre = id("prefix_token_id");
  spec.fim_suf = id("fim_suf_token_id");
  if (!spec.fim_suf) spec.fim_suf = id("suffix_token_id");
  spec.fim_mid = id("fim_mid_token_id");
  if (!spec.fim_mid) spec.fim_mid = id("middle_token_id");
  spec.fim_pad = id("fim_pad_token_id");
  spec.fim_rep = id("fim_rep_token_id");
  spec.fim_sep = id("fim_sep_token_id");
  spec.add_bos = file.get_bool("tokenizer.ggml.add_bos_token");
  spec.add_eos = file.get_bool("tokenizer.ggml.add_eos_token");
  spec.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix");
  return tok::make_tokenizer(spec);
}

}  // namespace rs

namespace rs::tok {

namespace {

bool ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

uint32_t attr_from_type(int32_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::Normal:
      return kAttrNormal;
    case TokenType::Unknown:
      return kAttrUnknown;
    case TokenType::Control:
      return kAttrControl;
    case TokenType::UserDefined:
      return kAttrUserDefined;
    case TokenType::Unused:
      return kAttrUnused;
    case TokenType::Byte:
      return kAttrByte;
    case TokenType::Undefined:
      return kAttrUndefined;
  }
  return kAttrUndefined;
}

// llama.cpp's clean_up_tokenization_spaces, three passes over the bytes.
std::string clean_up_spaces(std::string s) {
  if (s.size() < 2) return s;
  // 1: " ?", " !", " .", " ," lose the space.
  std::string a;
  a.reserve(s.size());
  a += s[0];
  for (size_t i = 1; i < s.size(); ++i) {
    const char x = s[i];
    if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a += x;
  }
  // 2: " ' " becomes "'"; the space after it is consumed (and no longer counts as a space).
  std::string b;
  b.reserve(a.size());
  if (!a.empty()) b += a[0];
  for (size_t i = 1; i < a.size(); ++i) {
    const char x = a[i];
    if (x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.pop_back();
      a[++i] = '\0';
    }
    b += x;
  }
  // 3: " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
  std::string c;
  c.reserve(b.size());
  if (!b.empty()) c += b[0];
  for (size_t i = 1; i < b.size(); ++i) {
    const char x = b[i];
    if (b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      if (x1 == 's' || x1 == 'm') {
        c.pop_back();
      } else if (i + 2 < b.size()) {
        const char x2 = b[i + 2];
        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
      }
    }
    c += x;
  }
  return c;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

}  // namespace

void escape_spaces(std::string& s) {
  replace_all(s, " ", "\xE2\x96\x81");
}
void unescape_spaces(std::string& s) {
  replace_all(s, "\xE2\x96\x81", " ");
}

void require_utf8(std::string_view text) {
  if (auto bad = utf8::find_invalid(text))
    fail("cannot tokenize: the text is not valid UTF-8 (bad byte 0x{:02X} at offset {})",
         static_cast<unsigned char>(text[*bad]), *bad);
}

std::unique_ptr<Tokenizer> make_tokenizer(VocabSpec& spec) {
  if (spec.model == "llama") return make_spm(spec);
  if (spec.model == "gpt2") return make_bpe(spec);
  if (spec.model == "bert") return make_wordpiece(spec);
  if (spec.model == "no_vocab" || spec.model == "none")
    fail(
        "{}: the model has no vocabulary (tokenizer.ggml.model = \"{}\"); pass token ids or "
        "supply a tokenizer",
        spec.source, spec.model);
  fail("{}: unsupported tokenizer.ggml.model \"{}\" (supported: llama, gpt2, bert)", spec.source,
       spec.model);
}

VocabTokenizer::VocabTokenizer(TokenizerKind kind, VocabSpec& spec)
    : kind_(kind), source_(spec.source) {
  const size_t n = spec.tokens.size();
  if (n == 0) fail("{}: the tokenizer has no tokens", source_);
  if (n >= static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail("{}: too many tokens ({})", source_, n);
  if (!spec.scores.empty() && spec.scores.size() != n)
    fail("{}: tokenizer.ggml.scores has {} entries but there are {} tokens", source_,
         spec.scores.size(), n);
  if (!spec.types.empty() && spec.types.size() != n)
    fail("{}: tokenizer.ggml.token_type has {} entries but there are {} tokens", source_,
         spec.types.size(), n);

  text_ = std::move(spec.tokens);
  score_ = spec.scores.empty() ? std::vector<float>(n, 0.0f) : std::move(spec.scores);
  type_ = spec.types.empty() ? std::vector<int32_t>(n, static_cast<int32_t>(TokenType::Normal))
                             : std::move(spec.types);
  attr_.resize(n);
  to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (text_[i].empty()) text_[i] = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp
    attr_[i] = attr_from_type(type_[i]);
    to_id_[text_[i]] = static_cast<int32_t>(i);  // a duplicate text maps to its last id
    max_token_len_ = std::max(max_token_len_, text_[i].size());
  }

  // llama.cpp's per-model defaults.
  auto or_none = [&](int32_t v) { return v >= 0 && static_cast<size_t>(v) < n ? v : -1; };
  switch (kind) {
    case TokenizerKind::SentencePiece:
      bos_ = or_none(1), eos_ = or_none(2), unk_ = or_none(0);
      add_space_prefix_ = true, add_bos_ = true;
      break;
    case TokenizerKind::WordPiece:
      bos_ = or_none(101), unk_ = or_none(100), sep_ = or_none(102), pad_ = or_none(0);
      mask_ = or_none(103);
      clean_spaces_ = true, add_bos_ = true;
      break;
    case TokenizerKind::BytePairEncoding:
      bos_ = or_none(11), eos_ = or_none(11);
      clean_spaces_ = true;
      break;
  }

  // Metadata ids. 0xFFFFFFFF (or -1) means "none" and keeps the default, as llama.cpp does for
  // stories260K's separator; any other id outside the vocabulary is an error.
  auto apply = [&](const std::optional<int64_t>& v, int32_t& dst, const char* what) {
    if (!v) return;
    if (*v == -1 || *v == 0xFFFFFFFFll) return;
    if (*v < 0 || static_cast<uint64_t>(*v) >= n)
      fail("{}: special token id {} = {} is outside the vocabulary of {} tokens", source_, what, *v,
           n);
    dst = static_cast<int32_t>(*v);
  };
  apply(spec.bos, bos_, "bos");
  apply(spec.eos, eos_, "eos");
  apply(spec.eot, eot_, "eot");
  apply(spec.eom, eom_, "eom");
  apply(spec.unk, unk_, "unknown");
  apply(spec.sep, sep_, "separator");
  apply(spec.pad, pad_, "padding");
  apply(spec.mask, mask_, "mask");
  apply(spec.fim_pre, fim_pre_, "fim_pre");
  apply(spec.fim_suf, fim_suf_, "fim_suf");
  apply(spec.fim_mid, fim_mid_, "fim_mid");
  apply(spec.fim_pad, fim_pad_, "fim_pad");
  apply(spec.fim_rep, fim_rep_, "fim_rep");
  apply(spec.fim_sep, fim_sep_, "fim_sep");
  if (spec.add_bos) add_bos_ = *spec.add_bos;
  if (spec.add_eos) add_eos_ = *spec.add_eos;
  if (spec.add_space_prefix) add_space_prefix_ = *spec.add_space_prefix;
  pre_ = spec.pre;
}

void VocabTokenizer::finish(const VocabSpec& spec) {
  if (add_bos_ && bos_ < 0 && kind_ != TokenizerKind::WordPiece)
    fail("{}: the vocabulary asks for a BOS token (add_bos_token) but has none", source_);
  if (add_eos_ && eos_ < 0)
    fail("{}: the vocabulary asks for an EOS token (add_eos_token) but has none", source_);
  const int32_t n = n_vocab();
  auto force_control = [&](int32_t id) {
    attr_[id] = kAttrControl;
    type_[id] = static_cast<int32_t>(TokenType::Control);
  };
  auto is_any = [](const std::string& s, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), s) != names.end();
  };
  // Auto-detection by text, as llama.cpp does when the metadata names no such token. llama.cpp
  // walks a hash map, so with several candidates its pick is unspecified; we take the first name
  // of the list that exists (phi-3: <|end|> rather than <|endoftext|>; qwen2: <|im_end|>).
  struct Detect {
    int32_t* id;
    std::initializer_list<std::string_view> names;
  };
  const Detect detect[] = {
      {&eot_,
       {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
        "<\xEF\xBD\x9C"
        "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"}},
      {&eom_, {"<|eom_id|>"}},
      {&fim_pre_,
       {"<|fim_prefix|>", "<fim-prefix>",
        "<\xEF\xBD\x9C"
        "fim\xE2\x96\x81"
        "begin\xEF\xBD\x9C>",
        "<PRE>"}},
      {&fim_suf_,
       {"<|fim_suffix|>", "<fim-suffix>",
        "<\xEF\xBD\x9C"
        "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
        "<SUF>"}},
      {&fim_mid_,
       {"<|fim_middle|>", "<fim-middle>",
        "<\xEF\xBD\x9C"
        "fim\xE2\x96\x81"
        "end\xEF\xBD\x9C>",
        "<MID>"}},
      {&fim_pad_, {"<|fim_pad|>", "<fim-pad>", "<PAD>"}},
      {&fim_rep_, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"}},
      {&fim_sep_, {"<|file_sep|>"}},
  };
  for (const auto& d : detect) {
    if (*d.id >= 0) continue;
    for (std::string_view name : d.names) {
      const int32_t i = lookup(name);
      if (i < 0) continue;
      *d.id = i;
      if (!(attr_[i] & kAttrControl)) force_control(i);
      break;
    }
  }
  std::vector<int32_t> eog;
  for (int32_t id : {fim_pad_, fim_rep_, fim_sep_})
    if (id >= 0) eog.push_back(id);
  for (int32_t i = 0; i < n; ++i) {
    if (is_any(text_[i], {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                          "<|eom_id|>", "<EOT>"})) {
      eog.push_back(i);
      if (!(attr_[i] & kAttrControl)) force_control(i);
    }
  }
  for (int32_t id : {eos_, eot_, eom_})
    if (id >= 0) eog.push_back(id);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  eog_ids_ = std::move(eog);

  for (int32_t i = 0; i < n; ++i)
    if (attr_[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_tokens_.push_back(i);
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(),
                   [&](int32_t a, int32_t b) { return text_[a].size() > text_[b].size(); });

  // Per-model attributes llama.cpp sets by name.
  auto set_flag = [&](std::string_view text, uint32_t flag, bool on) {
    const int32_t id = lookup(text);
    if (id < 0) return;
    attr_[id] = on ? (attr_[id] | flag) : (attr_[id] & ~flag);
  };
  std::string lname = spec.name;
  for (char& c : lname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (pre_.find("jina-v2-de") != std::string::npos ||
      pre_.find("jina-v2-es") != std::string::npos ||
      pre_.find("jina-v2-code") != std::string::npos) {
    set_flag("<mask>", kAttrLstrip, true);
  } else if (lname.find("phi-3") != std::string::npos || lname.find("phi3") != std::string::npos) {
    for (int32_t id : special_tokens_) attr_[id] |= kAttrRstrip;
    set_flag("</s>", kAttrRstrip, true);
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) set_flag(t, kAttrRstrip, false);
  }

  pieces_.resize(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) pieces_[i] = make_piece(i);
}

void VocabTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= n_vocab())
    fail("token id {} is outside the vocabulary (0..{})", id, n_vocab() - 1);
}

const std::string& VocabTokenizer::token_text(int32_t id) const {
  check_id(id);
  return text_[id];
}

TokenType VocabTokenizer::token_type(int32_t id) const {
  check_id(id);
  return static_cast<TokenType>(type_[id]);
}

int32_t VocabTokenizer::token_id(std::string_view text) const {
  return lookup(text);
}

std::vector<Fragment> VocabTokenizer::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, text});
  std::vector<Fragment> next;
  for (int32_t id : special_tokens_) {
    const uint32_t a = attr_[id];
    if (!parse_special && (a & (kAttrControl | kAttrUnknown))) continue;
    const std::string& tok = text_[id];
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      size_t pos = rest.find(tok);
      if (pos == std::string_view::npos) {
        next.push_back(f);
        continue;
      }
      while (true) {
        std::string_view left = rest.substr(0, pos);
        if (a & kAttrLstrip)
          while (!left.empty() && ascii_space(left.back())) left.remove_suffix(1);
        if (!left.empty()) next.push_back({-1, left});
        next.push_back({id, {}});
        std::string_view right = rest.substr(pos + tok.size());
        if (a & kAttrRstrip)
          while (!right.empty() && ascii_space(right.front())) right.remove_prefix(1);
        if (right.empty()) break;
        rest = right;
        pos = rest.find(tok);
        if (pos == std::string_view::npos) {
          next.push_back({-1, rest});
          break;
        }
      }
    }
    frags.swap(next);
  }
  return frags;
}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_special,
                                            bool parse_special) const {
  std::vector<int32_t> out;
  encode_fragments(partition(text, parse_special), add_special, out);
  return out;
}

std::string VocabTokenizer::token_to_piece(int32_t id, bool special) const {
  check_id(id);
  if (!special && (attr_[id] & (kAttrUnknown | kAttrControl))) return {};
  return pieces_[id];
}

std::string VocabTokenizer::decode(std::span<const int32_t> ids, bool remove_special,
                                   bool unparse_special) const {
  DecodeOptions opt;
  opt.remove_special = remove_special;
  opt.unparse_special = unparse_special;
  return detokenize(ids, opt);
}

std::string VocabTokenizer::detokenize(std::span<const int32_t> ids,
                                       const DecodeOptions& opt) const {
  for (int32_t id : ids) check_id(id);
  size_t b = 0, e = ids.size();
  bool strip_space = opt.strip_prefix_space && add_space_prefix_;
  if (opt.remove_special && add_bos_ && e > b && ids[b] == bos_) {
    strip_space = false;  // llama.cpp keeps the prefix space once it removed the BOS
    ++b;
  }
  if (opt.remove_special && add_eos_ && e > b && ids[e - 1] == eos_) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) {
    const int32_t id = ids[i];
    if (!opt.unparse_special && (attr_[id] & (kAttrUnknown | kAttrControl))) {
      strip_space = false;
      continue;
    }
    const std::string& piece = pieces_[id];
    const size_t skip = (strip_space && !piece.empty() && piece[0] == ' ') ? 1 : 0;
    strip_space = false;
    out.append(piece, skip, std::string::npos);
  }
  if (opt.clean_spaces && clean_spaces_) out = clean_up_spaces(std::move(out));
  return out;
}

}  // namespace rs::tok
