#include "tokenizer/bpe_pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::tok {
namespace {

// The expressions llama.cpp uses (llama-vocab.cpp, llm_tokenizer_bpe), written for PCRE2. `\s`
// and `\S` are rewritten below to Unicode White_Space, which is what llama.cpp's code point
// tables call whitespace (PCRE2's own \s leaves out U+0085).
const char* const kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// The letter ranges of DeepSeek LLM's tokenizer.json (cased letters of many scripts).
const char* const kDeepseekLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D})"
    R"(\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3})"
    R"(\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D})"
    R"(\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184})"
    R"(\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D})"
    R"(\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF})"
    R"(\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F})"
    R"(\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
const char* const kDeepseekPunct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
const char* const kCjkHangul = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
const char* const kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";

enum class Family {
  Default,
  Llama3,
  DeepseekLlm,
  Deepseek3,
  DeepseekCoder,
  Falcon,
  Starcoder,
  Gpt2,
  Qwen2,
  Bloom,
  Chatglm4,
  Viking,
  Tekken,
  Chameleon,
};

std::vector<std::string> regexes_of(Family f) {
  switch (f) {
    case Family::Llama3:
    case Family::Chatglm4:
      return {kLlama3};
    case Family::DeepseekLlm:
      return {R"([\r\n])", kDeepseekLetters, kDeepseekPunct, R"(\s+$)", kCjkHangul, R"(\p{N}+)"};
    case Family::Deepseek3:
      return {
          R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
          R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case Family::DeepseekCoder:
      return {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkHangul, R"(\p{N})"};
    case Family::Falcon:
      return {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, R"([0-9][0-9][0-9])"};
    case Family::Starcoder:
      return {R"(\p{N})", kGpt2};
    case Family::Gpt2:
      return {kGpt2};
    case Family::Qwen2:
      return {kQwen2};
    case Family::Bloom:
      return {kBloom};
    case Family::Viking:
      return {kBloom, R"(\p{N})"};
    case Family::Tekken:
      return {
          R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
    case Family::Chameleon:
      return {R"(<sentinel:[0-9]+>)",    R"((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)",
              R"(([\t\n]|    |  ))",     R"(\p{N})",
              R"([\p{P}!-/:-@\[-`{-~])", kGpt2};
    case Family::Default:
      break;
  }
  return {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"};
}

struct PreEntry {
  const char* name;
  Family family;
  bool clean_spaces;
};

// tokenizer.ggml.pre values llama.cpp (c392e509) accepts.
const PreEntry kPre[] = {
    {"default", Family::Default, true},
    {"llama3", Family::Llama3, true},
    {"llama-v3", Family::Llama3, true},
    {"llama-bpe", Family::Llama3, true},
    {"falcon3", Family::Llama3, true},
    {"deepseek-llm", Family::DeepseekLlm, false},
    {"deepseek-coder", Family::DeepseekCoder, false},
    {"deepseek-v3", Family::Deepseek3, false},
    {"falcon", Family::Falcon, true},
    {"mpt", Family::Gpt2, true},
    {"starcoder", Family::Starcoder, true},
    {"gpt-2", Family::Gpt2, true},
    {"phi-2", Family::Gpt2, true},
    {"jina-es", Family::Gpt2, true},
    {"jina-de", Family::Gpt2, true},
    {"gigachat", Family::Gpt2, true},
    {"jina-v1-en", Family::Gpt2, true},
    {"jina-v2-es", Family::Gpt2, true},
    {"jina-v2-de", Family::Gpt2, true},
    {"jina-v2-code", Family::Gpt2, true},
    {"roberta-bpe", Family::Gpt2, true},
    {"refact", Family::Starcoder, true},
    {"command-r", Family::Starcoder, false},
    {"qwen2", Family::Qwen2, false},
    {"deepseek-r1-qwen", Family::Qwen2, false},
    {"stablelm2", Family::Qwen2, true},
    {"olmo", Family::Gpt2, true},
    {"dbrx", Family::Llama3, true},
    {"smaug-bpe", Family::Llama3, true},
    {"poro-chat", Family::Bloom, false},
    {"chatglm-bpe", Family::Chatglm4, true},
    {"viking", Family::Viking, false},
    {"jais", Family::Gpt2, true},
    {"tekken", Family::Tekken, false},
    {"smollm", Family::Starcoder, false},
    {"codeshell", Family::Starcoder, true},
    {"bloom", Family::Bloom, true},
    {"gpt3-finnish", Family::Bloom, true},
    {"exaone", Family::Starcoder, true},
    {"chameleon", Family::Chameleon, false},
    {"minerva-7b", Family::Starcoder, true},
    {"megrez", Family::Qwen2, true},
};

// Rewrites \s and \S to Unicode White_Space (see above).
std::string expand_whitespace(const std::string& re) {
  static const char* kWs = R"(\t-\r\x{85}\p{Z})";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      const char d = re[i + 1];
      ++i;
      if (d == 's') {
        out += in_class ? std::string(kWs) : "[" + std::string(kWs) + "]";
      } else if (d == 'S' && !in_class) {
        out += "[^" + std::string(kWs) + "]";
      } else {
        out += c;
        out += d;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < re.size() && re[i + 1] == '^') out += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];  // leading ']' is literal
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

PreTokenizer pre_tokenizer_for(const std::string& pre) {
  const std::string name = pre.empty() ? "default" : pre;
  for (const PreEntry& e : kPre) {
    if (name != e.name) continue;
    PreTokenizer p;
    p.regexes = regexes_of(e.family);
    p.clean_spaces = e.clean_spaces;
    if (e.family == Family::Llama3 && name != "dbrx" && name != "smaug-bpe") {
      p.ignore_merges = true;
      p.add_bos = true;
    }
    if (e.family == Family::Tekken) {
      p.ignore_merges = true;
      p.add_bos = true;
    }
    if (e.family == Family::Chameleon) p.add_bos = true;
    if (e.family == Family::Chatglm4) p.no_bos = true;
    return p;
  }
  fail(
      "unknown BPE pre-tokenizer \"{}\" (tokenizer.ggml.pre); known: llama-bpe, qwen2, gpt-2, "
      "falcon, deepseek-llm, deepseek-coder, starcoder, refact, mpt, command-r, ...",
      pre);
}

std::optional<std::string> pre_name_for_regex(const std::string& regex) {
  // The original (?i:...) spelling from tokenizer.json files maps to the same families.
  const std::string llama3_orig =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::string qwen2_orig =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  if (regex == llama3_orig || regex == kLlama3) return "llama-bpe";
  if (regex == qwen2_orig || regex == kQwen2) return "qwen2";
  if (regex == kGpt2 ||
      regex == R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))")
    return "gpt-2";
  return std::nullopt;
}

struct RegexSplitter::Impl {
  std::vector<pcre2_code*> codes;
  ~Impl() {
    for (pcre2_code* c : codes) pcre2_code_free(c);
  }
};

RegexSplitter::RegexSplitter(const std::vector<std::string>& patterns) : impl_(new Impl) {
  for (const std::string& p : patterns) {
    const std::string expanded = expand_whitespace(p);
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expanded.data()), expanded.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      fail("bad pre-tokenizer regex at offset {}: {} (pattern: {})", err_off,
           reinterpret_cast<const char*>(msg), p);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; the interpreter also works
    impl_->codes.push_back(code);
  }
}

RegexSplitter::~RegexSplitter() = default;

std::vector<std::pair<size_t, size_t>> RegexSplitter::split(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> pieces, next;
  if (text.empty()) return pieces;
  pieces.emplace_back(0, text.size());
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  struct Cleanup {
    pcre2_match_context*& m;
    pcre2_jit_stack*& j;
    ~Cleanup() {
      if (m) pcre2_match_context_free(m);
      if (j) pcre2_jit_stack_free(j);
    }
  } cleanup{mctx, jit_stack};

  const auto* subject_base = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (pcre2_code* code : impl_->codes) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    if (!md) fail("out of memory in the pre-tokenizer");
    struct MdFree {
      pcre2_match_data* p;
      ~MdFree() { pcre2_match_data_free(p); }
    } md_free{md};
    next.clear();
    for (const auto& [off, len] : pieces) {
      size_t start = 0, pos = 0;
      while (pos < len) {
        int rc = pcre2_match(code, subject_base + off, len, pos, PCRE2_NO_UTF_CHECK, md, mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !jit_stack) {
          jit_stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
          mctx = pcre2_match_context_create(nullptr);
          if (!jit_stack || !mctx) fail("out of memory in the pre-tokenizer");
          pcre2_jit_stack_assign(mctx, nullptr, jit_stack);
          continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof(msg));
          fail("pre-tokenizer regex failed: {}", reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t ms = ov[0], me = ov[1];
        if (me <= ms) {  // empty match: step over one character
          pos = ms + utf8::seq_len(static_cast<unsigned char>(text[off + ms]));
          continue;
        }
        if (ms > start) next.emplace_back(off + start, ms - start);
        next.emplace_back(off + ms, me - ms);
        start = pos = me;
      }
      if (start < len) next.emplace_back(off + start, len - start);
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace rs::tok
